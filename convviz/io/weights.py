"""Export the layer's weights as .npy files for Keras or PyTorch.

Files are written atomically (`convviz.io.atomic`), so an existing export is never left
half-written.
Qt-free.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from convviz.core.explain_code import framework_kernel, torch_weight
from convviz.io.atomic import save_npy_atomic

__all__ = ["LAYOUTS", "export_weights", "weight_paths"]

LAYOUTS = {
    "keras": "Keras (kh, kw, C_in/groups, filters)",
    "pytorch": "PyTorch (filters, C_in/groups, kh, kw)",
}


def weight_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The kernel file (``.npy`` added if missing) and its bias file ``<stem>_bias.npy``."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        path = path.with_name(path.name + ".npy")
    return path, path.with_name(path.stem + "_bias.npy")


def export_weights(
    path: str | os.PathLike[str],
    kernel: npt.ArrayLike,
    bias: npt.ArrayLike | None = None,
    layout: str = "keras",
    flip_kernel: bool = False,
) -> list[Path]:
    """Write the kernel (and bias) as float32 .npy files in a framework's layout.

    Parameters
    ----------
    path : str or PathLike
        Kernel file; ``.npy`` is appended when missing. The bias goes to
        ``<stem>_bias.npy`` beside it.
    kernel : array_like
        ``(kh, kw, C_in/groups, filters)``, the document's (Keras) layout.
    bias : array_like or None
        ``(filters,)``; None writes no bias file.
    layout : str
        ``"keras"``: ``(kh, kw, C_in/groups, filters)``; ``"pytorch"``: ``(filters,
        C_in/groups, kh, kw)`` = ``kernel.transpose(3, 2, 0, 1)``.
    flip_kernel : bool
        The layer computes a true convolution: write the kernels rotated by 180
        degrees, which a cross-correlating framework needs to give the same output.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        For an unknown layout or arrays of the wrong shape (nothing is written).
    OSError
        When the folder cannot be written to.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(
            f"kernel must have shape (kh, kw, C_in/groups, filters), got {kernel.shape}"
        )
    if not np.isfinite(kernel).all():
        raise ValueError("kernel contains NaN or infinite values")
    used = framework_kernel(kernel, flip_kernel)
    data = torch_weight(used) if layout == "pytorch" else used
    kernel_path, bias_path = weight_paths(path)
    if bias is not None:
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        if bias.shape != (kernel.shape[3],):
            raise ValueError(f"bias must have shape ({kernel.shape[3]},), got {bias.shape}")
    save_npy_atomic(kernel_path, data)
    if bias is None:
        return [kernel_path]
    save_npy_atomic(bias_path, bias)
    return [kernel_path, bias_path]
