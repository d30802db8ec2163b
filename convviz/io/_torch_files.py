"""Read the Conv2D layers of PyTorch state dicts: ``.safetensors`` (numpy API of the
safetensors package) and ``.pt``/``.pth`` (``torch.load(..., weights_only=True)``).

A state dict holds tensors only: a convolution is a 4-D ``<prefix>.weight`` of shape
``(filters, C_in // groups, kh, kw)`` with an optional ``<prefix>.bias``; strides,
padding, dilation, groups and the activation live in the Python code of the model, not in
the file. Nothing is unpickled except by torch's weights-only loader. Qt-free.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convviz.io._checks import InputError
from convviz.io._keras_h5 import MODELS_EXTRA
from convviz.io.weight_layers import (
    ConvLayer,
    ReadResult,
    ValueBudget,
    checked_weights,
    from_torch_layout,
    natural_key,
)

MAX_TORCH_BYTES = 1_000_000_000

STATE_DICT_NOTE = (
    "A PyTorch state dict records no strides, padding, dilation, groups or activation "
    "(they live in the model's code): convviz keeps its current ones."
)


def convert_command(path: Path) -> str:
    """The one line that turns a PyTorch file into a .safetensors file convviz reads."""
    out = path.with_suffix(".safetensors").name
    return (
        'python -c "import torch; from safetensors.torch import save_file; '
        f"save_file({{k: v.contiguous() for k, v in torch.load('{path.name}', "
        f"weights_only=True).items()}}, '{out}')\""
    )


def _conv_layers(
    tensors: Mapping[str, object],
    shape_of: Callable[[str], Sequence[int]],
    read: Callable[[str], np.ndarray],
    label: str,
    budget: ValueBudget,
) -> list[ConvLayer]:
    """ConvLayers from a mapping of names; ``shape_of(name)`` gives a shape without reading,
    ``read(name)`` the values as numpy."""
    layers = []
    for name in sorted(tensors, key=natural_key):
        if not name.endswith(".weight") and name != "weight":
            continue
        shape = tuple(shape_of(name))
        if len(shape) != 4:
            continue
        prefix = name[: -len("weight")].rstrip(".")
        bias_name = f"{prefix}.bias" if prefix else "bias"
        layer_name = prefix or "conv"
        budget.claim(shape, f"the kernel of layer {layer_name}")
        weight = read(name)
        bias = None
        if bias_name in tensors:
            budget.claim(shape_of(bias_name), f"the bias of layer {layer_name}")
            bias = read(bias_name)
        if weight.dtype.kind != "f":
            raise InputError(f"{label} (layer {layer_name}): its weight holds {weight.dtype}")
        kernel, bias = checked_weights(label, layer_name, from_torch_layout(weight), bias)
        layers.append(ConvLayer(name=layer_name, kernel=kernel, bias=bias, kind="Conv2d"))
    return layers


def read_safetensors(path: Path, label: str, budget: ValueBudget) -> ReadResult:
    """(file format, layers, notes) of a ``.safetensors`` file."""
    try:
        from safetensors import safe_open
    except ImportError:
        raise InputError(
            f"{label}: reading .safetensors files needs the safetensors package, which is "
            f"not installed; install it with: {MODELS_EXTRA}"
        ) from None
    try:
        with safe_open(str(path), framework="np") as f:
            names = list(f.keys())

            # safetensors ships no type information: what it returns is Any here.
            def shape_of(name: str) -> Any:
                return f.get_slice(name).get_shape()

            def read(name: str) -> Any:
                dtype = f.get_slice(name).get_dtype()
                if dtype in ("BF16", "F8_E4M3", "F8_E5M2"):
                    raise InputError(
                        f"{label}: tensor {name} is stored as {dtype}, which numpy cannot "
                        "read; save the tensors as float32 or float16"
                    )
                return f.get_tensor(name)

            layers = _conv_layers(dict.fromkeys(names), shape_of, read, label, budget)
    except InputError:
        raise
    except Exception as exc:  # safetensors raises its own error types on bad headers
        detail = str(exc)[:120] or type(exc).__name__
        raise InputError(f"{label}: this is not a valid .safetensors file ({detail})") from None
    return "safetensors (PyTorch layout)", layers, (STATE_DICT_NOTE,)


_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def read_torch(path: Path, label: str, budget: ValueBudget) -> ReadResult:
    """(file format, layers, notes) of a PyTorch ``.pt``/``.pth`` state dict."""
    try:
        import torch
    except ImportError:
        raise InputError(
            f"{label}: reading PyTorch files needs PyTorch, which is not installed. Convert "
            f"the file once where PyTorch is installed, then open the .safetensors file:\n"
            f"{convert_command(path)}"
        ) from None
    # torch.load reads everything at once: bound the file's size first.
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
    else:
        size = path.stat().st_size
    if size > MAX_TORCH_BYTES:
        raise InputError(
            f"{label}: the file holds {size:,} bytes, more than the {MAX_TORCH_BYTES:,} "
            "convviz reads from a PyTorch file"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "weights_only" in text or "Unsupported global" in text:
            raise InputError(
                f"{label}: the file holds pickled Python objects (a whole model rather than "
                "its weights), which convviz does not load for safety; save "
                "model.state_dict() instead"
            ) from None
        raise InputError(f"{label}: the file is truncated or corrupt ({text[:120]})") from None
    if isinstance(obj, dict):
        for key in _CHECKPOINT_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise InputError(
            f"{label}: the file holds a {type(obj).__name__}, not a state dict of named "
            "tensors (save model.state_dict())"
        )
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}

    def read(name: str) -> Any:  # Any: where types are checked, torch may be missing
        t = tensors[name].detach()
        return t.to(torch.float32).numpy() if t.is_floating_point() else t.numpy()

    layers = _conv_layers(tensors, lambda n: tuple(tensors[n].shape), read, label, budget)
    return "PyTorch state dict (.pt)", layers, (STATE_DICT_NOTE,)
