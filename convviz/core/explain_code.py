"""Python code that builds the layer on screen, with its weights, in Keras or PyTorch.

Both frameworks compute cross-correlation, as convviz does by default. With convviz's
"true convolution" switch on, the code carries the kernels rotated by 180 degrees, so
the framework computes what the screen shows. Qt-free. The code of a whole network, as a
Sequential model, is ``sequential_code.py``'s.
"""

from __future__ import annotations

import os
import pprint
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from convviz.core.activations import LEAKY_RELU_SLOPE, canonical_activation
from convviz.core.conv import conv_geometry
from convviz.core.geometry import NUMPY_PAD_MODE

if TYPE_CHECKING:  # what the code is written for, which this module only reads
    from convviz.core.model import LayerSettings

__all__ = [
    "LITERAL_LIMIT",
    "framework_kernel",
    "keras_code",
    "pytorch_code",
    "torch_weight",
]

LITERAL_LIMIT = 400
"""Kernels with at most this many numbers are written into the code as literals."""

F32 = npt.NDArray[np.float32]
# Exported kernel and bias files, loaded by the code instead of literals.
_Files = Sequence[str | os.PathLike[str]]

_TORCH_ACTIVATIONS = {
    "linear": "y",
    "relu": "torch.relu(y)",
    "leaky_relu": f"F.leaky_relu(y, negative_slope={LEAKY_RELU_SLOPE})",
    "relu6": "F.relu6(y)",
    "elu": "F.elu(y)",
    "selu": "torch.selu(y)",
    "sigmoid": "torch.sigmoid(y)",
    "hard_sigmoid": "F.hardsigmoid(y)",
    "tanh": "torch.tanh(y)",
    "softplus": "F.softplus(y)",
    "softsign": "F.softsign(y)",
    "silu": "F.silu(y)",
    "exponential": "torch.exp(y)",
}


def framework_kernel(kernel: npt.ArrayLike, flip_kernel: bool) -> F32:
    """The Keras-layout kernel a cross-correlating framework needs to match convviz."""
    kernel = np.asarray(kernel, dtype=np.float32)
    return np.ascontiguousarray(kernel[::-1, ::-1] if flip_kernel else kernel)


def torch_weight(kernel: npt.ArrayLike) -> F32:
    """Keras ``(kh, kw, C_in/groups, filters)`` -> PyTorch ``(filters, C_in/groups, kh, kw)``."""
    return np.ascontiguousarray(np.asarray(kernel, dtype=np.float32).transpose(3, 2, 0, 1))


def _literal(name: str, array: npt.ArrayLike) -> str:
    # repr of a float32 widened to float64 is the shortest text that reads back exactly.
    values = np.asarray(array, dtype=np.float32).astype(np.float64).tolist()
    body = pprint.pformat(values, width=88, compact=True).replace("\n", "\n    ")
    return f"{name} = np.array(\n    {body},\n    dtype=np.float32,\n)"


def _weights_block(kernel: F32, bias: F32 | None, files: _Files | None, flip: bool) -> list[str]:
    lines = []
    if flip:
        lines.append(
            "# convviz shows a true convolution: these kernels are rotated by 180°, because"
        )
        lines.append("# the framework computes cross-correlation.")
    if files is not None:
        lines.append("# Keras layout (kh, kw, C_in/groups, filters)")
        lines.append(f"kernel = np.load({str(files[0])!r})")
        if bias is not None:
            lines.append(f"bias = np.load({str(files[1])!r})")
    else:
        lines.append("# Keras layout (kh, kw, C_in/groups, filters)")
        lines.append(_literal("kernel", framework_kernel(kernel, flip)))
        if bias is not None:
            lines.append(_literal("bias", bias))
    return lines


def _check_layer(settings: LayerSettings, kernel: npt.ArrayLike, files: _Files | None) -> None:
    refusal = settings.keras_refusal()
    if refusal:  # the layer would not even build
        raise ValueError(refusal)
    _needs_literal_files(kernel, files)


def _needs_literal_files(kernel: npt.ArrayLike, files: _Files | None) -> None:
    if files is None and np.asarray(kernel).size > LITERAL_LIMIT:
        raise ValueError(
            f"the kernel has {np.asarray(kernel).size} numbers, too many to paste as literals; "
            "export the weights (File → Export weights…) and pass their files"
        )


def keras_code(
    kernel: F32,
    bias: F32 | None,
    settings: LayerSettings,
    input_shape: tuple[int, int, int],
    files: _Files | None = None,
) -> str:
    """A tf.keras / Keras 3 snippet building the same layer with the same weights.

    Parameters
    ----------
    kernel : numpy.ndarray
        ``(kh, kw, C_in/groups, filters)``, the document's weights.
    bias : numpy.ndarray or None
        ``(filters,)``; None when the layer has no bias.
    settings : LayerSettings
        The layer's hyper-parameters.
    input_shape : (int, int, int)
        ``(H, W, C_in)``.
    files : (path, path) or None
        Exported Keras-layout kernel and bias files to load instead of literals
        (see `convviz.io.weights.export_weights` with ``flip_kernel``).

    Returns
    -------
    str
        Runnable Python; it defines ``x`` (your input, H×W×C_in) and ``y``.
    """
    _check_layer(settings, kernel, files)
    s = settings
    h, w, c = input_shape
    kh, kw = s.kernel_size
    geom = conv_geometry((h, w), (kh, kw), s.strides, s.padding, s.dilation, allow_empty=True)
    lines = ["import numpy as np", "import keras", ""]
    lines += _weights_block(kernel, bias, files, s.flip_kernel)
    lines += ["", f"x = np.zeros((1, {h}, {w}, {c}), np.float32)  # your input, batch of 1"]
    keras_padding = s.padding if s.padding in ("valid", "same") else "valid"
    top, bottom, left, right = geom.padding
    if s.padding_mode != "zeros" and any(geom.padding):
        mode = NUMPY_PAD_MODE[s.padding_mode]
        lines.append(
            f"# Keras pads only with zeros: apply the {s.padding_mode} padding to the input."
        )
        lines.append(
            f"x = np.pad(x, ((0, 0), ({top}, {bottom}), ({left}, {right}), (0, 0)), mode={mode!r})"
        )
        keras_padding = "valid"
    elif keras_padding != s.padding:
        lines.append(f"# Keras has no padding={s.padding!r}: pad with zeros explicitly.")
        lines.append(f"x = keras.layers.ZeroPadding2D((({top}, {bottom}), ({left}, {right})))(x)")
    act = canonical_activation(s.activation)
    lines += [
        "layer = keras.layers.Conv2D(",
        f"    filters={s.filters},",
        f"    kernel_size=({kh}, {kw}),",
        f"    strides={tuple(s.strides)},",
        f"    padding={keras_padding!r},",
        f"    dilation_rate={tuple(s.dilation)},",
        f"    groups={s.groups},",
        f"    activation={act!r},",
        f"    use_bias={bias is not None},",
        ")",
        "layer.build(x.shape)",
        "layer.set_weights([kernel, bias])" if bias is not None else "layer.set_weights([kernel])",
        "y = keras.ops.convert_to_numpy(layer(x))[0]  # (H', W', filters) = "
        f"{(*geom.output_size, s.filters)}",
    ]
    return "\n".join(lines) + "\n"


def pytorch_code(
    kernel: F32,
    bias: F32 | None,
    settings: LayerSettings,
    input_shape: tuple[int, int, int],
    files: _Files | None = None,
) -> str:
    """A PyTorch snippet building the same layer with the same weights.

    Parameters are those of `keras_code`; ``files`` hold Keras-layout arrays,
    transposed in the snippet. The weight is ``kernel.transpose(3, 2, 0, 1)``:
    ``(filters, C_in/groups, kh, kw)``.

    Returns
    -------
    str
        Runnable Python; it defines ``x`` (your input, H×W×C_in) and ``y``.
    """
    _check_layer(settings, kernel, files)
    s = settings
    h, w, c = input_shape
    kh, kw = s.kernel_size
    geom = conv_geometry((h, w), (kh, kw), s.strides, s.padding, s.dilation, allow_empty=True)
    top, bottom, left, right = geom.padding
    lines = ["import numpy as np", "import torch", "import torch.nn.functional as F", ""]
    lines += _weights_block(kernel, bias, files, s.flip_kernel)
    lines += [
        "",
        f"x = np.zeros(({h}, {w}, {c}), np.float32)  # your input (H, W, C_in)",
        "xt = torch.from_numpy(x).permute(2, 0, 1)[None]  # PyTorch wants (N, C_in, H, W)",
    ]
    symmetric = top == bottom and left == right
    if symmetric:
        conv_padding, mode = (top, left), s.padding_mode
    else:
        torch_mode = "constant" if s.padding_mode == "zeros" else s.padding_mode
        lines.append(
            f"# Uneven padding (top {top}, bottom {bottom}, left {left}, right {right}): "
            "pad explicitly."
        )
        lines.append(f"xt = F.pad(xt, ({left}, {right}, {top}, {bottom}), mode={torch_mode!r})")
        conv_padding, mode = (0, 0), "zeros"
    lines += [
        "layer = torch.nn.Conv2d(",
        f"    in_channels={c},",
        f"    out_channels={s.filters},",
        f"    kernel_size=({kh}, {kw}),",
        f"    stride={tuple(s.strides)},",
        f"    padding={conv_padding},",
        f"    dilation={tuple(s.dilation)},",
        f"    groups={s.groups},",
        f"    bias={bias is not None},",
        f"    padding_mode={mode!r},",
        ")",
        "with torch.no_grad():",
        "    # (filters, C_in/groups, kh, kw) = kernel.transpose(3, 2, 0, 1)",
        "    layer.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))",
    ]
    if bias is not None:
        lines.append("    layer.bias.copy_(torch.from_numpy(bias))")
    act = _TORCH_ACTIVATIONS[canonical_activation(s.activation)]
    lines.append("    y = layer(xt)")
    if act != "y":
        lines.append(f"    y = {act}")
    lines += [
        f"y = y[0].permute(1, 2, 0).numpy()  # (H', W', filters) = "
        f"{(*geom.output_size, s.filters)}",
    ]
    return "\n".join(lines) + "\n"
