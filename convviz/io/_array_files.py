"""Reading NumPy files (``.npy`` and ``.npz``) as (H, W, C) inputs, and the layout of an
array's shape (channels-last or channels-first, a batch axis of 1 dropped).

Headers are checked before any value is read and nothing is ever unpickled: a ``.npy``
file is memory-mapped, an ``.npz`` member converted to float32 a chunk at a time.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from convviz.io._checks import MAX_CHANNELS, InputError, apply_layout, check_dtype, shape_layout

_NPZ_PREFERRED = ("input", "x")
_CHUNK_BYTES = 1 << 20


def _layout(shape: tuple[int, ...], label: str) -> tuple[tuple[bool, bool, bool], str | None]:
    """Check a shape as :func:`shape_layout` does; also say when its axes are moved.

    Returns the layout and, when a first axis is moved to the end (the array is
    read as channels-first), a sentence for the user saying so, else None. A
    3-D shape whose first and last axes are both longer than ``MAX_CHANNELS``
    is refused with a message saying what would be accepted.
    """
    shape = tuple(int(s) for s in shape)
    batch = len(shape) == 4 and shape[0] == 1
    core = shape[1:] if batch else shape
    if len(core) == 3 and min(shape) > 0 and min(core[0], core[2]) > MAX_CHANNELS:
        first, h, last = core
        raise InputError(
            f"{label}: shape {shape} has too many channels: read as (H, W, C) it would have "
            f"{last} channels and read as (C, H, W) {first}, but convviz handles at most "
            f"{MAX_CHANNELS}; it accepts (H, W, C) or (C, H, W) with C at most {MAX_CHANNELS}, "
            f"e.g. shape {(first, h, MAX_CHANNELS)} for the first {MAX_CHANNELS} channels of "
            "its last axis"
        )
    layout = shape_layout(shape, label)
    if not layout[2]:
        return layout, None
    c, h, w = core
    form = "(N, C, H, W) with N = 1" if batch else "(C, H, W)"
    return layout, (
        f"Read shape {shape} as channels-first {form}: {c} channel{'' if c == 1 else 's'}, "
        f"{w} pixels wide and {h} high, since {w} channels on the last axis would be more "
        f"than the {MAX_CHANNELS} convviz handles."
    )


def _read_npy_header(
    f: IO[bytes], label: str
) -> tuple[tuple[bool, bool, bool], str | None, np.dtype, int]:
    """Read and check a .npy header; return (layout, its notice, dtype, number of values)."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    except Exception as exc:  # numpy's header parser raises several types
        detail = str(exc)[:100] or type(exc).__name__
        raise InputError(f"{label}: this is not a valid .npy array file ({detail})") from None
    check_dtype(dtype, label)
    return *_layout(shape, label), dtype, math.prod(shape)


def _open_npy(path: Path, label: str) -> tuple[np.ndarray, str | None]:
    """An (H, W, C) view of a .npy file, and the notice of its layout."""
    with open(path, "rb") as f:
        layout, notice, dtype, count = _read_npy_header(f, label)
        needed = f.tell() + count * dtype.itemsize
    size = path.stat().st_size
    if size < needed:
        raise InputError(
            f"{label}: the file is truncated (its header promises {needed:,} bytes, "
            f"the file has {size:,})"
        )
    # A memory map: the values are read block by block when checked and
    # converted, never all at once in their stored type.
    return apply_layout(np.load(path, mmap_mode="r", allow_pickle=False), layout), notice


def _read_npz(path: Path, label: str) -> tuple[np.ndarray, str | None]:
    """An (H, W, C) view of an .npz file's input array, and the notice of its layout."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(f"{label}: this is not a valid .npz file (not a zip archive)") from None
    with archive:
        members = {n[: -len(".npy")]: n for n in archive.namelist() if n.endswith(".npy")}
        if not members:
            raise InputError(f"{label}: the .npz archive holds no arrays")
        if len(members) == 1:
            key = next(iter(members))
        else:
            preferred = next((k for k in _NPZ_PREFERRED if k in members), None)
            if preferred is None:
                names = ", ".join(repr(k) for k in sorted(members)[:20])
                raise InputError(
                    f"{label}: the archive holds {len(members)} arrays ({names}); convviz "
                    "loads the only array, or the one named 'input' or 'x'"
                )
            key = preferred
        where = f"{label} (array {key!r})"
        with archive.open(members[key]) as f:
            layout, notice, _, _ = _read_npy_header(f, where)
        # The header was checked, so this allocates at most the declared (size-limited)
        # array, however well the member compresses.
        with archive.open(members[key]) as f:
            data = _read_member_as_float32(f, where)
    return apply_layout(data, layout), notice


def _read_member_as_float32(f: IO[bytes], label: str) -> npt.NDArray[np.float32]:
    """The array of a .npy stream, as float32, read and converted a chunk at a time.

    A float64 array is never held whole in its stored type: at most one chunk of it
    besides the float32 result. Integer and float16 arrays become float32 the same way.
    """
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    # Values stored in Fortran order are, read in order, the transposed array.
    stored = tuple(reversed(shape)) if fortran else tuple(shape)
    out = np.empty(stored, np.float32)
    flat = out.reshape(-1)
    step = max(1, _CHUNK_BYTES // max(dtype.itemsize, 1))
    for start in range(0, flat.size, step):
        n = min(step, flat.size - start)
        raw = f.read(n * dtype.itemsize)
        if len(raw) != n * dtype.itemsize:
            raise InputError(f"{label}: the array is truncated or corrupt")
        chunk = np.frombuffer(raw, dtype=dtype)
        if dtype.kind == "f":
            # Values beyond float32 become inf here; the finiteness check names them.
            with np.errstate(over="ignore", invalid="ignore"):
                flat[start : start + n] = chunk
        else:
            flat[start : start + n] = chunk
    return out.T if fortran else out
