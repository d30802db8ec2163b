"""Python code that builds the whole network, with its weights, as a Keras or PyTorch
Sequential model (the code of the shown layer alone is ``explain_code.py``'s). Qt-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from convviz.core.activations import LEAKY_RELU_SLOPE, canonical_activation
from convviz.core.conv import conv_geometry
from convviz.core.explain_code import _check_layer, _literal, framework_kernel

if TYPE_CHECKING:  # what the code is written for, which this module only reads
    from convviz.core.geometry import ConvGeometry
    from convviz.core.stack import Layer

    # (number from 1, layer, its input shape, its geometry) of each layer of a network
    _Step = tuple[int, Layer, tuple[int, int, int], ConvGeometry]

__all__ = ["keras_sequential_code", "pytorch_sequential_code"]

_TORCH_MODULES = {
    "linear": None,
    "relu": "torch.nn.ReLU()",
    "leaky_relu": f"torch.nn.LeakyReLU({LEAKY_RELU_SLOPE})",
    "relu6": "torch.nn.ReLU6()",
    "elu": "torch.nn.ELU()",
    "selu": "torch.nn.SELU()",
    "sigmoid": "torch.nn.Sigmoid()",
    "hard_sigmoid": "torch.nn.Hardsigmoid()",
    "tanh": "torch.nn.Tanh()",
    "softplus": "torch.nn.Softplus()",
    "softsign": "torch.nn.Softsign()",
    "silu": "torch.nn.SiLU()",
    "exponential": "Exp()",
}

_TORCH_PADS = {
    "zeros": "torch.nn.ZeroPad2d",
    "reflect": "torch.nn.ReflectionPad2d",
    "replicate": "torch.nn.ReplicationPad2d",
    "circular": "torch.nn.CircularPad2d",
}


def _network_layers(
    input_shape: tuple[int, int, int], layers: Iterable[Layer]
) -> tuple[list[_Step], tuple[int, int, int]]:
    """(number, layer, input shape, geometry) of each layer; ValueError for a network a
    Sequential model cannot hold (an empty layer, a kernel too big to paste)."""
    h, w, c = input_shape
    out = []
    for n, layer in enumerate(layers, 1):
        if not h * w:
            raise ValueError(f"layer {n} has nothing to read: the layer before it is empty")
        if layer.kind == "Conv2D":
            s = layer.settings
            _check_layer(s, layer.kernel, None)
            geom = conv_geometry((h, w), s.kernel_size, s.strides, s.padding, s.dilation, True)
            oc = s.filters
        else:
            geom = conv_geometry((h, w), layer.pool_size, layer.step, layer.padding, 1, True)
            oc = c
        out.append((n, layer, (h, w, c), geom))
        (h, w), c = geom.output_size, oc
    return out, (h, w, c)


def _network_weights(steps: Iterable[_Step]) -> list[str]:
    lines = ["# Kernels in the Keras layout (kh, kw, C_in/groups, filters)"]
    for n, layer, _, _ in steps:
        if layer.kind != "Conv2D":
            continue
        s = layer.settings
        if s.flip_kernel:
            lines.append(f"# Layer {n} shows a true convolution: its kernels are rotated by 180°.")
        lines.append(_literal(f"kernel{n}", framework_kernel(layer.kernel, s.flip_kernel)))
        if s.use_bias:
            lines.append(_literal(f"bias{n}", layer.bias))
    return lines


def keras_sequential_code(input_shape: tuple[int, int, int], layers: Iterable[Layer]) -> str:
    """A ``keras.Sequential`` of the network's layers with their weights.

    Parameters
    ----------
    input_shape : (int, int, int)
        The network's input ``(H, W, C_in)``.
    layers : sequence of ConvLayer and PoolLayer
        As :mod:`convviz.core.stack` keeps them, the first layer first.

    Returns
    -------
    str
        Runnable Python; it defines ``model``, ``x`` (your input) and ``y``.

    Raises
    ------
    ValueError
        For what Keras cannot build: padding other than zeros, a layer with nothing to
        read, kernels too large to paste as literals.
    """
    steps, out_shape = _network_layers(input_shape, layers)
    h, w, c = input_shape
    lines = ["import numpy as np", "import keras", "", *_network_weights(steps), ""]
    lines += ["model = keras.Sequential([", f"    keras.Input(({h}, {w}, {c})),"]
    weighted = []
    for n, layer, _, geom in steps:
        if layer.kind != "Conv2D":
            strides = None if layer.strides is None else tuple(layer.strides)
            lines.append(
                f"    keras.layers.MaxPooling2D({tuple(layer.pool_size)}, strides={strides}, "
                f"padding={layer.padding!r}),  # layer {n}"
            )
            continue
        s = layer.settings
        padding = s.padding if s.padding in ("valid", "same") else "valid"
        if any(geom.padding) and s.padding_mode != "zeros":
            raise ValueError(
                f"layer {n} pads with {s.padding_mode}: Keras pads only with zeros, and a "
                "Sequential model has no layer for it"
            )
        if padding != s.padding:
            t, b, left, r = geom.padding
            lines.append(
                f"    keras.layers.ZeroPadding2D((({t}, {b}), ({left}, {r}))),  # layer {n}'s "
                f"padding={s.padding!r}"
            )
        kh, kw = s.kernel_size
        lines.append(
            f"    keras.layers.Conv2D({s.filters}, ({kh}, {kw}), strides={tuple(s.strides)}, "
            f"padding={padding!r}, dilation_rate={tuple(s.dilation)}, groups={s.groups}, "
            f"activation={canonical_activation(s.activation)!r}, use_bias={s.use_bias}),"
            f"  # layer {n}"
        )
        weighted.append((n, s.use_bias))
    lines.append("])")
    conv_layers = "[layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]"
    lines.append(f"convs = {conv_layers}")
    for i, (n, use_bias) in enumerate(weighted):
        values = f"[kernel{n}, bias{n}]" if use_bias else f"[kernel{n}]"
        lines.append(f"convs[{i}].set_weights({values})")
    lines += [
        "",
        f"x = np.zeros((1, {h}, {w}, {c}), np.float32)  # your input, batch of 1",
        f"y = keras.ops.convert_to_numpy(model(x))[0]  # (H', W', C) = {out_shape}",
    ]
    return "\n".join(lines) + "\n"


def pytorch_sequential_code(input_shape: tuple[int, int, int], layers: Iterable[Layer]) -> str:
    """A ``torch.nn.Sequential`` of the network's layers with their weights: what
    :func:`keras_sequential_code` builds, in PyTorch's (N, C, H, W) order. Uneven or
    "same" padding becomes a padding module before the layer (−inf before a max pool,
    so padding never wins). Raises ValueError as `keras_sequential_code` does, except
    for padding modes, which PyTorch has."""
    steps, out_shape = _network_layers(input_shape, layers)
    h, w, c = input_shape
    lines = ["import numpy as np", "import torch", ""]
    modules, weighted = [], []
    for n, layer, (_, _, cin), geom in steps:
        t, b, left, r = geom.padding
        if layer.kind != "Conv2D":
            if any(geom.padding):
                modules.append(
                    f"torch.nn.ConstantPad2d(({left}, {r}, {t}, {b}), float('-inf')),"
                    f"  # layer {n}'s padding='same'"
                )
            modules.append(
                f"torch.nn.MaxPool2d({tuple(layer.pool_size)}, stride={tuple(layer.step)}),"
                f"  # layer {n}"
            )
            continue
        s = layer.settings
        if any(geom.padding):
            modules.append(f"{_TORCH_PADS[s.padding_mode]}(({left}, {r}, {t}, {b})),")
        kh, kw = s.kernel_size
        weighted.append((len(modules), n, s.use_bias))
        modules.append(
            f"torch.nn.Conv2d({cin}, {s.filters}, ({kh}, {kw}), stride={tuple(s.strides)}, "
            f"dilation={tuple(s.dilation)}, groups={s.groups}, bias={s.use_bias}),  # layer {n}"
        )
        act = _TORCH_MODULES[canonical_activation(s.activation)]
        if act is not None:
            modules.append(f"{act},")
    if any("Exp()" in m for m in modules):
        lines += [
            "class Exp(torch.nn.Module):  # Keras' activation='exponential'",
            "    def forward(self, y):",
            "        return torch.exp(y)",
            "",
            "",
        ]
    lines += [*_network_weights(steps), "", "model = torch.nn.Sequential("]
    lines += [f"    {m}" for m in modules]
    lines += [")", "with torch.no_grad():"]
    for index, n, use_bias in weighted:
        lines.append(
            f"    model[{index}].weight.copy_(torch.from_numpy(kernel{n}.transpose(3, 2, 0, 1)"
            ".copy()))"
        )
        if use_bias:
            lines.append(f"    model[{index}].bias.copy_(torch.from_numpy(bias{n}))")
    lines += [
        "",
        f"x = np.zeros(({h}, {w}, {c}), np.float32)  # your input (H, W, C_in)",
        "with torch.no_grad():",
        "    y = model(torch.from_numpy(x).permute(2, 0, 1)[None])",
        f"y = y[0].permute(1, 2, 0).numpy()  # (H', W', C) = {out_shape}",
    ]
    return "\n".join(lines) + "\n"
