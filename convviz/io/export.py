"""Export what the layer computes as .npy arrays, and write any file without ever half-writing it.

Qt-free. Every function takes a document state, as ``Controller.state()`` returns it
(input, kernel, bias, settings, channel_names, selected_filter), and writes through
:func:`convviz.io.atomic.atomic_writer`: an existing file is replaced only by a
complete new one.

Layouts are Keras' channels-last ones: the input ``(H, W, C_in)``, the kernel maps of
the selected filter ``(H', W', C_in // groups)`` and the feature maps ``(H', W', filters)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from convviz.core.conv import ConvResult, conv2d
from convviz.io.atomic import atomic_writer, save_npy_atomic
from convviz.io.inputs import save_array

__all__ = [
    "export_feature_maps",
    "export_input",
    "export_kernel_maps",
    "feature_maps_array",
    "kernel_maps_array",
    "layer_result",
    "save_npy",
    "with_suffix",
    "write_bytes",
]


def with_suffix(path: str | os.PathLike[str], suffix: str) -> Path:
    """``path`` ending in ``suffix`` (any letter case kept), appended when missing."""
    path = Path(path)
    if path.suffix.lower() != suffix.lower():
        path = path.with_name(path.name + suffix)
    return path


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically.

    Raises
    ------
    OSError
        When the folder cannot be written to; ``path`` is then unchanged.
    """
    path = Path(path)
    with atomic_writer(path) as f:
        f.write(data)
    return path


def save_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Save ``array`` as a float32 .npy file (``.npy`` appended if missing), atomically.

    Returns
    -------
    Path
        The file written; ``numpy.load`` gives ``array`` back exactly.
    """
    path = with_suffix(path, ".npy")
    save_npy_atomic(path, np.ascontiguousarray(array, dtype=np.float32))
    return path


def layer_result(
    state: Mapping[str, Any], kernel_map_filters: int | Iterable[int] | None = None
) -> ConvResult:
    """``conv2d`` of a document state with its own settings (bias only if used).

    Raises
    ------
    ValueError
        When the output is empty (the kernel does not fit in the padded input).
    """
    s = state["settings"]
    bias = state["bias"] if s.use_bias else None
    return conv2d(
        state["input"],
        state["kernel"],
        bias,
        kernel_map_filters=kernel_map_filters,
        **s.conv_kwargs(),
    )


def kernel_maps_array(state: Mapping[str, Any]) -> npt.NDArray[np.float32]:
    """Kernel maps of the selected filter, ``(H', W', C_in // groups)``."""
    f = int(state["selected_filter"])
    return np.ascontiguousarray(layer_result(state, [f]).kernel_maps_of(f))


def feature_maps_array(state: Mapping[str, Any]) -> npt.NDArray[np.float32]:
    """The layer's output, ``(H', W', filters)``."""
    return np.ascontiguousarray(layer_result(state, []).feature_maps)


def export_input(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Save the input ``(H, W, C_in)``; the app opens the file back unchanged."""
    return save_array(path, state["input"])


def export_kernel_maps(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Save the selected filter's kernel maps ``(H', W', C_in // groups)``."""
    return save_npy(path, kernel_maps_array(state))


def export_feature_maps(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Save the feature maps ``(H', W', filters)``."""
    return save_npy(path, feature_maps_array(state))
