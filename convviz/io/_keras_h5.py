"""HDF5 access for the Keras readers, through h5py: opening a file, following only the
links inside it, and reading a float dataset once its shape fits the value budget.

Links to other files, external raw data and virtual datasets are refused: they would make
h5py read files the user never chose.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from convviz.io._checks import InputError
from convviz.io.weight_layers import ValueBudget

MODELS_EXTRA = 'pip install "convviz[models]"'

# h5py ships no type information: its module, files, groups and datasets are Any here.
# A dataset to read: (h5py, the dataset, the file's label).
_DatasetRef = tuple[Any, Any, str]


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
