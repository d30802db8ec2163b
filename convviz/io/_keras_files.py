"""Read the Conv2D layers of Keras files: ``.keras`` archives, ``.h5`` models and
``.weights.h5`` files (HDF5, through h5py).

Files are untrusted: every dataset's shape is checked before it is read, archive members
before they are extracted, and HDF5 links to other files, external raw data and virtual
datasets are refused (they would make h5py read files the user never chose). Qt-free.

This module finds the model configuration and the weights in each kind of file; the HDF5
access is in :mod:`convviz.io._keras_h5`, the reading of a configuration's layers in
:mod:`convviz.io._keras_config`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from convviz.io._checks import InputError
from convviz.io._keras_config import _conv_from_config, _layer_entries, _layers_from_config
from convviz.io._keras_h5 import _at, _child, _DatasetRef, _h5py, _open_h5, _read
from convviz.io.weight_layers import (
    ConvLayer,
    PoolLayer,
    ReadResult,
    ValueBudget,
    natural_key,
)

MAX_CONFIG_BYTES = 16_000_000
MAX_MEMBER_BYTES = 300_000_000


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json(text: str | bytes, label: str, what: str) -> Any:
    if len(text) > MAX_CONFIG_BYTES:
        raise InputError(f"{label}: its {what} is larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: its {what} is not valid JSON ({exc})") from None


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
