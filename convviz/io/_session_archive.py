"""The members of a session archive: their names, the table of arrays in ``session.json``,
and the ``.npy`` arrays, streamed out a chunk at a time and read back from their header.

Kept apart from :mod:`convviz.io.session`, which describes the format as a whole.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from typing import IO

import numpy as np
import numpy.typing as npt

from convviz.io._checks import InputError, check_dtype
from convviz.io._session_fields import check_int, check_keys, check_text

_META = "session.json"
_ARRAYS = ("input", "kernel", "bias")
_NPY_HEADER_ROOM = 65_536  # numpy refuses longer headers anyway
# Zip timestamps are fixed so that the same document always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# A member whose size is not known before it is written needs the zip64 format from here.
_ZIP64_FROM = (1 << 31) - (1 << 24)


def _write_npy(out: IO[bytes], a: np.ndarray) -> None:
    """``a`` in the .npy format, its memory handed to ``out`` a megabyte at a time
    (uncopied: the compressor reads it without holding the interpreter)."""
    a = np.ascontiguousarray(a)
    np.lib.format.write_array_header_1_0(out, np.lib.format.header_data_from_array_1_0(a))
    flat = a.reshape(-1).view(np.uint8)
    step = 1 << 20
    for start in range(0, flat.size, step):
        # numpy declares the buffer protocol of arrays for Python 3.12 and later only.
        out.write(memoryview(flat[start : start + step]))  # type: ignore[arg-type]


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _parse_array_table(
    raw: object, label: str, wanted: Sequence[str] = _ARRAYS
) -> dict[str, tuple[str, tuple[int, ...]]]:
    if not isinstance(raw, dict):
        raise InputError(f"{label}: arrays must be a JSON object")
    check_keys(raw, wanted, label, "arrays")
    table = {}
    for name in wanted:
        entry = raw[name]
        if not isinstance(entry, dict):
            raise InputError(f"{label}: arrays.{name} must be a JSON object")
        check_keys(entry, ("file", "shape", "dtype"), label, f"arrays.{name}")
        file = check_text(entry["file"], label, f"arrays.{name}.file", 100)
        if entry["dtype"] != "float32":
            raise InputError(f"{label}: the {name} array must be float32, not {entry['dtype']!r}")
        shape = entry["shape"]
        if not isinstance(shape, list) or not 1 <= len(shape) <= 4:
            raise InputError(f"{label}: arrays.{name}.shape must be a list of 1 to 4 sizes")
        table[name] = (file, tuple(check_int(s, label, f"{name} size", 1, 2**31) for s in shape))
    if len({file for file, _ in table.values()}) < len(table) or _META in table:
        raise InputError(f"{label}: two arrays share one archive member")
    return table


def _read_npy(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], label: str
) -> npt.NDArray[np.float32]:
    nbytes = math.prod(shape) * 4
    if info.file_size > nbytes + _NPY_HEADER_ROOM:
        # A zip bomb, or data the declared shape does not account for.
        raise InputError(
            f"{label}: the member unpacks to {info.file_size:,} bytes, far more than its "
            f"shape {shape} needs"
        )
    with zf.open(info) as f:
        try:
            major = np.lib.format.read_magic(f)
            reader = (
                np.lib.format.read_array_header_1_0
                if major == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            stored, fortran, dtype = reader(f)
        except Exception as exc:  # numpy's header parser raises several types
            raise InputError(f"{label}: not a valid .npy array ({str(exc)[:100]})") from None
        check_dtype(dtype, label)
        if dtype.kind != "f" or dtype.itemsize != 4:
            raise InputError(f"{label}: the values are stored as {dtype}, not float32")
        if tuple(stored) != tuple(shape):
            raise InputError(f"{label}: the array has shape {stored}, {_META} says {shape}")
        data = f.read(nbytes)
    if len(data) < nbytes:
        raise InputError(f"{label}: the array is truncated")
    a = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    a = np.ascontiguousarray(a, dtype=np.float32)
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{label}: {int(bad.sum())} value(s) are not finite numbers (NaN or infinity); "
            f"the first is at index {first}"
        )
    return a
