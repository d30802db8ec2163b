"""The checks every convviz input passes, whether it comes from a file or from memory.

Shapes and dtypes are checked before any data is read, so a file's header
alone is enough to refuse it; values (NaN, infinity) are checked block by
block. Every refusal is an :class:`InputError` whose message starts with the
name of the file or array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from convviz.core.budget import MEMORY_BUDGET, fitting_side, gib, layer_peak_bytes
from convviz.core.numbers import MAX_MAGNITUDE
from convviz.core.words import count
from convviz.io._resample import row_blocks

if TYPE_CHECKING:  # the settings live with the document, which this module need not load
    from convviz.core.model import LayerSettings

MAX_CHANNELS = 16
MAX_SIDE_LIMIT = 16384
MAX_PIXELS = 50_000_000  # a 50-megapixel photo
MAX_VALUES = 200_000_000  # 800 MB once converted to float32
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class InputError(ValueError):
    """A file or array convviz cannot use as an input; the message is for the user."""


def check_size(h: int, w: int, c: int, label: str) -> None:
    """Refuse an input beyond the side, pixel or value limits."""
    if max(h, w) > MAX_SIDE_LIMIT or h * w > MAX_PIXELS or h * w * c > MAX_VALUES:
        size = f"{w}×{h} pixels" + (f" × {c} channels" if c > 1 else "")
        raise InputError(
            f"{label}: the input is too large ({size}); convviz accepts at most "
            f"{MAX_SIDE_LIMIT} pixels on a side, {MAX_PIXELS:,} pixels and {MAX_VALUES:,} "
            "values in all"
        )


def check_dtype(dtype: np.dtype, label: str) -> None:
    """Refuse anything but booleans, integers and real floats."""
    if dtype.hasobject:
        raise InputError(
            f"{label}: the array holds Python objects, which convviz does not load for safety"
        )
    if dtype.names is not None or dtype.subdtype is not None:
        raise InputError(f"{label}: the array is a structured (record) array, not plain numbers")
    if dtype.kind == "c":
        raise InputError(f"{label}: the array holds complex numbers; convviz needs real numbers")
    if dtype.kind not in "biuf":
        raise InputError(f"{label}: the array holds {dtype} values (text, dates...), not numbers")


def shape_layout(shape: tuple[int, ...], label: str) -> tuple[bool, bool, bool]:
    """Check a shape against the layout rules of :mod:`convviz.io.inputs`.

    Returns (drop a leading batch axis, add a channel axis, channels first).
    """
    shape = tuple(int(s) for s in shape)
    if any(s <= 0 for s in shape):
        raise InputError(f"{label}: the array is empty (shape {shape})")
    batch = len(shape) == 4
    if batch and shape[0] != 1:
        raise InputError(
            f"{label}: the array holds a batch of {shape[0]} inputs (shape {shape}); "
            "convviz loads one input at a time"
        )
    core = shape[1:] if batch else shape
    if len(core) not in (2, 3):
        raise InputError(
            f"{label}: the array has {len(shape)} dimension{'' if len(shape) == 1 else 's'} "
            f"(shape {shape}); convviz needs (H, W), (H, W, C), (C, H, W) or (1, H, W, C)"
        )
    channels_first = len(core) == 3 and core[0] <= MAX_CHANNELS < core[2]
    if len(core) == 2:
        h, w, c = (*core, 1)
    elif channels_first:
        c, h, w = core
    else:
        h, w, c = core
    if c > MAX_CHANNELS:
        raise InputError(
            f"{label}: shape {shape} means {c} channels, more than the {MAX_CHANNELS} convviz "
            f"handles (a 3-D array is read as (H, W, C), or as (C, H, W) when its first axis "
            f"is at most {MAX_CHANNELS} and its last axis is longer)"
        )
    check_size(h, w, c, label)
    return batch, len(core) == 2, channels_first


def apply_layout(a: np.ndarray, layout: tuple[bool, bool, bool]) -> np.ndarray:
    """View ``a`` as (H, W, C) following :func:`shape_layout`'s answer; no copy."""
    batch, add_channel, channels_first = layout
    if batch:
        a = a[0]
    if add_channel:
        return a[:, :, np.newaxis]
    return a.transpose(1, 2, 0) if channels_first else a


def check_finite(view: np.ndarray, label: str) -> None:
    """Refuse NaN, infinities and values float32 cannot hold, saying where the first is."""
    if view.dtype.kind != "f":
        return
    h, w, c = view.shape
    # In the array's own type, so that float16 is not compared with a number
    # it cannot hold.
    limit = view.dtype.type(min(float(np.finfo(view.dtype).max), _FLOAT32_MAX))
    count, first = 0, None
    for rows in row_blocks(h, w * c):
        block = view[rows]
        # NaN fails every comparison, so one test catches NaN, infinities and
        # finite values that float32 cannot hold.
        bad = ~(np.abs(block) <= limit)
        n = int(np.count_nonzero(bad))
        if n and first is None:
            r, col, ch = (int(i) for i in np.argwhere(bad)[0])
            first = (r + rows.start, col, ch, block[r, col, ch])
        count += n
    if first is not None:
        r, col, ch, value = first
        values = (
            "1 value is not a finite number"
            if count == 1
            else f"{count} values are not finite numbers"
        )
        raise InputError(
            f"{label}: {values} (NaN, infinity, or too large for float32); the first is "
            f"{value} at row {r}, column {col}, channel {ch}"
        )


def check_weights(kernel: np.ndarray, bias: np.ndarray, label: str) -> None:
    """Refuse kernel or bias values beyond ±1e6 (or NaN), the limit of a kernel cell."""
    for name, a in (("kernel", kernel), ("bias", bias)):
        bad = ~(np.abs(a) <= MAX_MAGNITUDE)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"{label}: the {name} holds {int(bad.sum())} value(s) beyond ±1e6, the limit "
                f"of a kernel cell; the first is {float(a[index]):g} at index {index}"
            )


def check_budget(h: int, w: int, c: int, s: LayerSettings, label: str) -> None:
    """Refuse a layer whose predicted peak memory exceeds the budget, before reading it."""
    need = layer_peak_bytes(h, w, c, s)
    if need <= MEMORY_BUDGET:
        return
    (kh, kw), side = s.kernel_size, fitting_side(h, w, c, s)
    fits = (
        f"an input of at most {side} pixels on its longer side would fit"
        if side
        else "no input size fits with these settings"
    )
    raise InputError(
        f"{label}: showing this layer would need about {gib(need)} of memory "
        f"({w}×{h} pixels × {count(c, 'channel')}, {count(s.filters, 'filter')} of "
        f"{kh}×{kw}), more than convviz's budget of {gib(MEMORY_BUDGET)}; {fits}"
    )
