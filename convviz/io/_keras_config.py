"""The layers of a Keras model configuration: walking its (nested) layer entries in order
and turning each Conv2D, DepthwiseConv2D and pooling entry into a layer, its weights
found and read by the caller's file layout.

Kept apart from :mod:`convviz.io._keras_files`, which finds the configuration and the
weights in ``.keras`` archives and ``.h5`` files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from convviz.io._checks import InputError
from convviz.io._keras_h5 import _DatasetRef, _read
from convviz.io.weight_layers import ConvLayer, PoolLayer, ValueBudget, checked_weights

_POOLS = ("MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D")
_POOL_NAMES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D"}
# Layers with a kernel that are not a Conv2D: listed as skipped, never misread.
_OTHER_CONVS = (
    "Conv1D",
    "Conv3D",
    "Conv2DTranspose",
    "Conv1DTranspose",
    "Conv3DTranspose",
    "SeparableConv2D",
    "SeparableConv1D",
    "DepthwiseConv1D",
)

# The (kernel, bias) datasets of a convolution, from its (class, config, weights path).
_FindWeights = Callable[[str, dict[str, Any], str], tuple[_DatasetRef | None, _DatasetRef | None]]


def snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: the name Keras 3 files give a layer's weights."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_entries(model_config: object, label: str) -> list[Any] | None:
    """The layer entries of a model's config, or None for a model that lists none."""
    config = model_config.get("config") if isinstance(model_config, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else None
    if layers is None:
        return None
    if not isinstance(layers, list):
        raise InputError(f"{label}: the model's configuration lists no layers")
    return layers


def _walk(
    model_config: object, prefix: str, label: str
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Yield (class name, layer config, Keras 3 weights path) of every layer, nested models
    included, in the model's order."""
    used: dict[str, int] = {}
    for entry in _layer_entries(model_config, label) or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise InputError(f"{label}: the model's configuration has a malformed layer")
        cls = str(entry.get("class_name", ""))
        key = snake_case(cls)
        used[key] = used.get(key, -1) + 1
        path = f"{prefix}/layers/{key}" + (f"_{used[key]}" if used[key] else "")
        if _layer_entries(entry, label) is not None:
            yield from _walk(entry, path, label)
        else:
            yield cls, entry["config"], path.lstrip("/")


def _activation(value: object) -> str | None:
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("config")
        return inner if isinstance(inner, str) else str(value.get("class_name", "custom"))
    return str(value)


def _conv_from_config(
    cls: str, config: dict[str, Any], kernel: np.ndarray, bias: np.ndarray | None, label: str
) -> ConvLayer:
    name = str(config.get("name", snake_case(cls)))
    where = f"{label} (layer {name})"
    try:
        strides = tuple(int(s) for s in config.get("strides", (1, 1)))
        dilation = tuple(int(d) for d in config.get("dilation_rate", (1, 1)))
        padding = str(config.get("padding", "valid")).lower()
        groups = int(config.get("groups", 1))
    except (TypeError, ValueError):
        raise InputError(f"{where}: its strides, dilation or groups are not numbers") from None
    if len(strides) == 1:
        strides *= 2
    if len(dilation) == 1:
        dilation *= 2
    if len(strides) != 2 or len(dilation) != 2 or min(*strides, *dilation, groups) < 1:
        raise InputError(f"{where}: its strides, dilation or groups are not valid")
    kind = cls
    if cls == "DepthwiseConv2D":
        # (kh, kw, C_in, multiplier) is Conv2D(groups=C_in): output channel c·m + j reads
        # input channel c only, as Keras orders a depthwise layer's outputs.
        if kernel.ndim != 4:
            raise InputError(f"{where}: the kernel must be 4-D, got shape {kernel.shape}")
        kh, kw, c, m = kernel.shape
        kernel, groups = kernel.reshape(kh, kw, 1, c * m), c
    kernel, bias = checked_weights(label, name, kernel, bias)
    filters = config.get("filters")
    size = config.get("kernel_size")
    if (filters is not None and int(filters) != kernel.shape[3]) or (
        size is not None and tuple(size) != kernel.shape[:2]
    ):
        raise InputError(
            f"{where}: its configuration ({filters} filters of {size}) does not match its "
            f"kernel of shape {kernel.shape}"
        )
    if kernel.shape[3] % groups:
        raise InputError(f"{where}: groups={groups} does not divide {kernel.shape[3]} filters")
    return ConvLayer(
        name=name,
        kernel=kernel,
        bias=bias,
        strides=strides,
        padding=padding,
        dilation=dilation,
        groups=groups,
        activation=_activation(config.get("activation")),
        padding_mode="zeros",
        kind=kind,
    )


def _pool_from_config(cls: str, config: dict[str, Any]) -> PoolLayer:
    size = tuple(int(s) for s in config.get("pool_size", (2, 2)))
    strides = config.get("strides")
    strides = size if strides is None else tuple(int(s) for s in strides)
    return PoolLayer(
        name=str(config.get("name", snake_case(cls))),
        kind=_POOL_NAMES.get(cls, cls),
        pool_size=size,
        strides=strides,
        padding=str(config.get("padding", "valid")).lower(),
    )


def _layers_from_config(
    model_config: object, find_weights: _FindWeights, label: str, budget: ValueBudget
) -> tuple[list[ConvLayer | PoolLayer], list[str]]:
    """Layers in the config's order; ``find_weights(class, config, path)`` gives the
    (kernel dataset, bias dataset or None) of a convolution."""
    layers: list[ConvLayer | PoolLayer]
    skipped: list[str]
    layers, skipped = [], []
    for cls, config, path in _walk(model_config, "", label):
        if cls in ("Conv2D", "Convolution2D", "DepthwiseConv2D"):
            name = str(config.get("name", path))
            kernel_ds, bias_ds = find_weights(cls, config, path)
            if kernel_ds is None:
                raise InputError(f"{label}: the weights of layer {name} are missing")
            kernel = _read(*kernel_ds, budget, f"the kernel of layer {name}")
            bias = None if bias_ds is None else _read(*bias_ds, budget, f"the bias of {name}")
            if not config.get("use_bias", True):
                bias = None
            layers.append(_conv_from_config(cls, config, kernel, bias, label))
        elif cls in _POOLS:
            layers.append(_pool_from_config(cls, config))
        elif cls in _OTHER_CONVS:
            skipped.append(f"{config.get('name', path)} ({cls})")
    return layers, skipped
