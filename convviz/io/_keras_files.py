"""Read the Conv2D layers of Keras files: ``.keras`` archives, ``.h5`` models and
``.weights.h5`` files (HDF5, through h5py).

Files are untrusted: every dataset's shape is checked before it is read, archive members
before they are extracted, and HDF5 links to other files, external raw data and virtual
datasets are refused (they would make h5py read files the user never chose). Qt-free.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from convviz.io._checks import InputError
from convviz.io.weight_layers import (
    ConvLayer,
    PoolLayer,
    ReadResult,
    ValueBudget,
    checked_weights,
    natural_key,
)

MODELS_EXTRA = 'pip install "convviz[models]"'
MAX_CONFIG_BYTES = 16_000_000
MAX_MEMBER_BYTES = 300_000_000

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

# h5py ships no type information: its module, files, groups and datasets are Any here.
# A dataset to read: (h5py, the dataset, the file's label).
_DatasetRef = tuple[Any, Any, str]
# The (kernel, bias) datasets of a convolution, from its (class, config, weights path).
_FindWeights = Callable[[str, dict[str, Any], str], tuple[_DatasetRef | None, _DatasetRef | None]]


def _h5py(label: str) -> Any:
    try:
        import h5py
    except ImportError:
        raise InputError(
            f"{label}: reading Keras files needs the h5py package, which is not installed; "
            f"install it with: {MODELS_EXTRA}"
        ) from None
    return h5py


def _open_h5(h5py: Any, source: Path | io.BytesIO, label: str) -> Any:
    try:
        return h5py.File(source, "r")
    except OSError as exc:
        detail = str(exc).split("(", 1)[-1].rstrip(")")[:100]
        raise InputError(f"{label}: this is not a valid HDF5 (Keras) file ({detail})") from None


def _child(h5py: Any, group: Any, name: str, label: str) -> Any:
    """``group[name]`` when it is a plain object of this file, else None."""
    link = group.get(name, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise InputError(
            f"{label}: {group.name}/{name} links to another file or location, which convviz "
            "does not follow"
        )
    return group[name]


def _at(h5py: Any, root: Any, path: str, label: str) -> Any:
    node = root
    for part in path.strip("/").split("/"):
        if not isinstance(node, h5py.Group):
            return None
        node = _child(h5py, node, part, label)
        if node is None:
            return None
    return node


def _read(h5py: Any, dataset: Any, label: str, budget: ValueBudget, what: str) -> np.ndarray:
    if not isinstance(dataset, h5py.Dataset):
        raise InputError(f"{label}: {what} is not an array")
    if dataset.is_virtual or dataset.external:
        raise InputError(f"{label}: {what} keeps its values in other files; convviz refuses it")
    if dataset.dtype.kind != "f":
        raise InputError(f"{label}: {what} holds {dataset.dtype} values, not floats")
    budget.claim(dataset.shape, what)
    values: np.ndarray = dataset[()]
    return values


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json(text: str | bytes, label: str, what: str) -> Any:
    if len(text) > MAX_CONFIG_BYTES:
        raise InputError(f"{label}: its {what} is larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: its {what} is not valid JSON ({exc})") from None


def snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: the name Keras 3 files give a layer's weights."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# -- Keras configs ---------------------------------------------------------------------------
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


# -- Keras 3 weights layout: layers/<snake_case class>[_n]/vars/<i> ----------------------------
def _keras3_vars(
    h5py: Any, root: Any, path: str, label: str
) -> tuple[_DatasetRef | None, _DatasetRef | None]:
    vars_group = _at(h5py, root, f"{path}/vars", label)
    if vars_group is None:
        return None, None
    kernel = _child(h5py, vars_group, "0", label)
    bias = _child(h5py, vars_group, "1", label)
    return (None if kernel is None else (h5py, kernel, label)), (
        None if bias is None else (h5py, bias, label)
    )


def _keras3_weights_only(h5py: Any, root: Any, label: str, budget: ValueBudget) -> list[ConvLayer]:
    """Every Conv2D kernel under ``layers/``, nested models included, in the order of the
    layers' names (a weights file records no model order)."""
    layers: list[ConvLayer] = []

    def visit(path: str) -> None:
        group = _at(h5py, root, f"{path}/layers" if path else "layers", label)
        if not isinstance(group, h5py.Group):
            return
        for name in sorted(group.keys(), key=natural_key):
            here = f"{path}/layers/{name}" if path else f"layers/{name}"
            kernel_ds, bias_ds = _keras3_vars(h5py, root, here, label)
            conv = re.match(r"(depthwise_)?conv2d(_\d+)?$", name)
            if conv and kernel_ds is not None and kernel_ds[1].ndim == 4:
                kernel = _read(*kernel_ds, budget, f"the kernel of layer {here}")
                bias = None
                if bias_ds is not None and bias_ds[1].ndim == 1:
                    bias = _read(*bias_ds, budget, f"the bias of layer {here}")
                cls = "DepthwiseConv2D" if conv.group(1) else "Conv2D"
                layer = _conv_from_config(cls, {"name": name}, kernel, bias, label)
                layers.append(_unrecorded(layer))
            visit(here)

    visit("")
    return layers


def _unrecorded(layer: ConvLayer) -> ConvLayer:
    # A depthwise kernel's shape gives its groups; a Conv2D's groups are not recorded.
    groups = layer.groups if layer.kind == "DepthwiseConv2D" else None
    return replace(
        layer,
        strides=None,
        padding=None,
        dilation=None,
        groups=groups,
        activation=None,
        padding_mode=None,
    )


# -- legacy HDF5 (tf.keras 2 and Keras 3's model.save("x.h5")) --------------------------------
def _legacy_index(
    h5py: Any, weights_root: Any, label: str
) -> tuple[list[str], dict[str, dict[str, _DatasetRef]]]:
    """{layer name: {weight name: (h5py, dataset, label)}} from the groups' weight_names."""
    index: dict[str, dict[str, _DatasetRef]] = {}
    names = [_text(n) for n in weights_root.attrs.get("layer_names", [])]
    for group_name in names:
        group = _child(h5py, weights_root, group_name, label)
        if not isinstance(group, h5py.Group):
            continue
        for weight_name in (_text(n) for n in group.attrs.get("weight_names", [])):
            ds = _at(h5py, group, weight_name, label)
            parts = weight_name.split("/")
            layer = parts[-2] if len(parts) > 1 else group_name
            var = parts[-1].split(":")[0]
            if ds is not None:
                index.setdefault(layer, {})[var] = (h5py, ds, label)
    return names, index


def _legacy_weights_only(h5py: Any, root: Any, label: str, budget: ValueBudget) -> list[ConvLayer]:
    names, index = _legacy_index(h5py, root, label)
    layers = []
    for name in names:
        found = index.get(name, {})
        kernel_ds = found.get("kernel") or found.get("depthwise_kernel")
        if kernel_ds is None or kernel_ds[1].ndim != 4:
            continue
        kernel = _read(*kernel_ds, budget, f"the kernel of layer {name}")
        bias = _read(*found["bias"], budget, f"the bias of {name}") if "bias" in found else None
        cls = "DepthwiseConv2D" if "depthwise_kernel" in found else "Conv2D"
        layers.append(_unrecorded(_conv_from_config(cls, {"name": name}, kernel, bias, label)))
    return layers


WEIGHTS_ONLY_NOTE = (
    "The file holds weights only, no model configuration: strides, padding, dilation, "
    "groups and activation are not recorded (convviz keeps its current ones), and layers "
    "are listed in the order of their names."
)


def read_h5(path: Path, label: str, budget: ValueBudget) -> ReadResult:
    """(file format, layers, notes) of a Keras ``.h5`` model or ``.weights.h5`` file."""
    layers: Sequence[ConvLayer | PoolLayer]
    h5py = _h5py(label)
    with _open_h5(h5py, path, label) as root:
        if "model_config" in root.attrs:
            config = _json(_text(root.attrs["model_config"]), label, "model configuration")
            weights_root = _child(h5py, root, "model_weights", label)
            if not isinstance(weights_root, h5py.Group):
                raise InputError(f"{label}: the model has a configuration but no weights")
            _, index = _legacy_index(h5py, weights_root, label)

            def find(
                cls: str, config: dict[str, Any], path: str
            ) -> tuple[_DatasetRef | None, _DatasetRef | None]:
                found = index.get(str(config.get("name")), {})
                # tf.keras 2 names a depthwise kernel "depthwise_kernel", Keras 3 "kernel".
                return found.get("depthwise_kernel") or found.get("kernel"), found.get("bias")

            layers, skipped = _layers_from_config(config, find, label, budget)
            return "Keras model (.h5)", layers, _skipped_notes(skipped)
        if "layer_names" in root.attrs:
            layers = _legacy_weights_only(h5py, root, label, budget)
            return "Keras weights (.h5)", layers, (WEIGHTS_ONLY_NOTE,)
        if "layers" in root:
            layers = _keras3_weights_only(h5py, root, label, budget)
            return "Keras 3 weights (.weights.h5)", layers, (WEIGHTS_ONLY_NOTE,)
    raise InputError(
        f"{label}: this HDF5 file holds no Keras model or weights (no model_config, "
        "layer_names or layers group)"
    )


def read_keras_archive(path: Path, label: str, budget: ValueBudget) -> ReadResult:
    """(file format, layers, notes) of a Keras 3 ``.keras`` archive."""
    layers: Sequence[ConvLayer | PoolLayer]
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(f"{label}: this is not a valid .keras file (not a zip archive)") from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        if "config.json" not in members:
            raise InputError(f"{label}: the archive has no config.json, so it is no Keras model")
        if "model.weights.h5" not in members:
            sharded = "model.weights.json" in members
            raise InputError(
                f"{label}: the archive holds no model.weights.h5"
                + (" (its weights are sharded, which convviz does not read)" if sharded else "")
            )
        config = _json(
            _member(archive, members["config.json"], MAX_CONFIG_BYTES, label), label, "config.json"
        )
        weights = io.BytesIO(_member(archive, members["model.weights.h5"], MAX_MEMBER_BYTES, label))
    h5py = _h5py(label)
    with _open_h5(h5py, weights, label) as root:
        if _layer_entries(config, label) is None:
            layers = _keras3_weights_only(h5py, root, label, budget)
            return "Keras 3 model (.keras)", layers, (WEIGHTS_ONLY_NOTE,)

        def find(
            cls: str, config: dict[str, Any], path: str
        ) -> tuple[_DatasetRef | None, _DatasetRef | None]:
            return _keras3_vars(h5py, root, path, label)

        layers, skipped = _layers_from_config(config, find, label, budget)
    return "Keras 3 model (.keras)", layers, _skipped_notes(skipped)


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, label: str) -> bytes:
    if info.file_size > limit:
        raise InputError(
            f"{label}: {info.filename} in the archive is {info.file_size:,} bytes, more than "
            f"the {limit:,} convviz reads"
        )
    try:
        with archive.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{label}: {info.filename} in the archive is damaged ({exc})") from None
    if len(data) > limit:
        raise InputError(f"{label}: {info.filename} in the archive is larger than it says")
    return data


def _skipped_notes(skipped: Sequence[str]) -> tuple[str, ...]:
    if not skipped:
        return ()
    return (
        f"Skipped {len(skipped)} layer{'s' if len(skipped) > 1 else ''} that "
        f"{'are' if len(skipped) > 1 else 'is'} not Conv2D: {', '.join(skipped)}.",
    )
