"""Area-average downscaling of (H, W, C) arrays, block by block.

Each output pixel is the exact mean of the input area it covers (fractional
overlaps included), like Pillow's BOX filter but in float64 and for any
number of channels. Rows are processed in blocks so that an input held as a
memory map or as 8-bit pixels is never converted to floats all at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

# Blocks of rows hold about this many values (8 MB as float64).
_BLOCK_VALUES = 1 << 20

F64 = npt.NDArray[np.float64]
# Per input index: its first output cell, its weight there, and its total weight.
_Weights = tuple[npt.NDArray[np.int64], F64, float]


def row_blocks(h: int, row_values: int) -> Iterator[slice]:
    """Slices covering rows 0..h in blocks of about ``_BLOCK_VALUES`` values."""
    step = max(1, _BLOCK_VALUES // row_values)
    for start in range(0, h, step):
        yield slice(start, min(h, start + step))


def fit_within(h: int, w: int, max_side: int) -> tuple[int, int]:
    """(height, width) with the longest side equal to max_side, aspect kept, rounded."""
    longest = max(h, w)
    return (
        max(1, (2 * h * max_side + longest) // (2 * longest)),
        max(1, (2 * w * max_side + longest) // (2 * longest)),
    )


def _area_weights(n_in: int, n_out: int) -> _Weights:
    """Split each input pixel between the (at most two) output cells it overlaps.

    Returns, for every input index, its first cell ``lo`` and its weight there,
    already divided by the cell length; its weight in cell ``lo + 1`` is the
    constant total ``n_out / n_in`` minus that. Integer arithmetic keeps the
    cell boundaries exact.
    """
    j = np.arange(n_in, dtype=np.int64)
    lo = j * n_out // n_in
    inside = np.minimum((lo + 1) * n_in - j * n_out, n_out)
    return lo, inside / n_in, n_out / n_in


def _bin(x: F64, weights: _Weights, out: F64, axis: int) -> None:
    """Add x into ``out`` (one spare cell at the end of ``axis``) with area weights."""
    lo, w_lo, total = weights
    bins, first = np.unique(lo, return_index=True)
    shape = [1] * x.ndim
    shape[axis] = -1
    in_lo = np.add.reduceat(x * w_lo.reshape(shape), first, axis=axis)
    in_hi = np.add.reduceat(x, first, axis=axis) * total - in_lo
    target = np.moveaxis(out, axis, 0)
    target[bins] += np.moveaxis(in_lo, axis, 0)
    target[bins + 1] += np.moveaxis(in_hi, axis, 0)


def area_downscale(
    pixels: np.ndarray, out_h: int, out_w: int, divisor: float
) -> npt.NDArray[np.float32]:
    """Shrink an (H, W, C) array by exact area averaging.

    Parameters
    ----------
    pixels : np.ndarray
        Any real dtype, possibly a memory map; read in blocks of rows.
    out_h, out_w : int
        Target size, at most (H, W): this only shrinks.
    divisor : float
        The result is divided by it (255 or 65535 for image pixels).

    Returns
    -------
    np.ndarray
        float32, (out_h, out_w, C), C-contiguous.
    """
    h, w, c = pixels.shape
    rows, cols = _area_weights(h, out_h), _area_weights(w, out_w)
    out = np.zeros((out_h + 1, out_w, c))
    for block_rows in row_blocks(h, w * c):
        block = np.asarray(pixels[block_rows], dtype=np.float64)
        narrow = np.zeros((block.shape[0], out_w + 1, c), dtype=np.float64)
        _bin(block, cols, narrow, axis=1)
        lo, w_lo, total = rows
        _bin(narrow[:, :out_w], (lo[block_rows], w_lo[block_rows], total), out, axis=0)
    out = out[:out_h]
    if divisor != 1.0:
        out /= divisor
    return np.ascontiguousarray(out, dtype=np.float32)
