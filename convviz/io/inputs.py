"""Load a Conv2D input from an image or a NumPy file, without Qt.

Every file is treated as hostile: sizes are checked from the header before any
pixel is decoded, nothing is ever unpickled, and every problem surfaces as an
:class:`InputError` whose message names the file and says what is wrong in
plain words.

Conventions
-----------
* The result is always float32, shape (H, W, C), C-contiguous.
* Images: 8-bit values are divided by 255 and 16-bit ones by 65535, so pixels
  lie in [0, 1]. Grey images give 1 channel, everything else (colour, palette,
  CMYK) 3 channels R, G, B; an alpha channel (or a transparency key) is kept as
  a last channel only with ``keep_alpha=True``. Photos are turned upright
  according to their EXIF orientation. Animated GIF/WebP: the first frame.
  Pillow reads 16-bit colour PNGs at 8-bit precision and 16-bit grey+alpha
  PNGs as RGBA. A JPEG that is to be downscaled is decoded at 1/2, 1/4 or
  1/8 scale when that is still at least the target size, then area-averaged.
* Arrays (.npy/.npz): values are kept as they are (an integer 200 stays 200.0,
  booleans become 0.0/1.0). Accepted shapes are (H, W), (H, W, C) and
  (C, H, W). A leading batch axis of size 1 is dropped first, so (1, H, W, C)
  and PyTorch-style (1, C, H, W) both work. A 3-D shape is read as
  (H, W, C) whenever its last axis is at most ``MAX_CHANNELS``; otherwise as
  (C, H, W) when its first axis is at most ``MAX_CHANNELS``, and the
  result's ``notice`` says so; otherwise it is refused, the message naming
  the shape, the limit and a shape that would be accepted.
* Size limits (checked before decoding): at most ``MAX_SIDE_LIMIT`` pixels on
  a side, ``MAX_PIXELS`` pixels and ``MAX_VALUES`` values (pixels x channels).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from convviz.io._array_files import _layout, _open_npy, _read_npz
from convviz.io._checks import (
    MAX_CHANNELS,
    MAX_PIXELS,
    MAX_SIDE_LIMIT,
    MAX_VALUES,
    InputError,
    apply_layout,
    check_budget,
    check_dtype,
    check_finite,
)
from convviz.io._image_files import _read_image
from convviz.io._resample import area_downscale, fit_within
from convviz.io.atomic import save_npy_atomic
from convviz.io.file_names import display_name

if TYPE_CHECKING:  # the settings live with the document, which this module need not load
    from convviz.core.model import LayerSettings

__all__ = [
    "ARRAY_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MAX_CHANNELS",
    "MAX_PIXELS",
    "MAX_SIDE_LIMIT",
    "MAX_VALUES",
    "SUPPORTED_SUFFIXES",
    "InputError",
    "LoadedInput",
    "load_input",
    "read_input",
    "save_array",
    "validate_input_array",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
ARRAY_SUFFIXES = (".npy", ".npz")
SUPPORTED_SUFFIXES = IMAGE_SUFFIXES + ARRAY_SUFFIXES


@dataclass(frozen=True, eq=False)
class LoadedInput:
    """An input ready for the GUI.

    Attributes
    ----------
    array : np.ndarray
        float32, (H, W, C), C-contiguous.
    channel_names : tuple of str
        ``("R", "G", "B")``, ``("R", "G", "B", "A")``, ``("grey",)``,
        ``("grey", "A")`` for images, ``("ch 1", "ch 2", ...)`` for arrays.
    source : Path
        The file it came from.
    original_shape : tuple of int
        (H, W, C) before downscaling.
    downscaled : bool
        Whether ``array`` is smaller than the file's content.
    notice : str or None
        A sentence for the user when something was changed, else None.
    """

    array: np.ndarray
    channel_names: tuple[str, ...]
    source: Path
    original_shape: tuple[int, int, int]
    downscaled: bool
    notice: str | None


def load_input(
    path: str | os.PathLike[str], *, max_side: int | None = None, keep_alpha: bool = False
) -> np.ndarray:
    """Load an image or array file as a float32 (H, W, C) input.

    Parameters
    ----------
    path : str or PathLike
        A file with one of ``SUPPORTED_SUFFIXES``.
    max_side : int, optional
        When given and the longest side is longer, the input is shrunk by area
        averaging so that its longest side equals ``max_side``.
    keep_alpha : bool
        Keep an image's alpha channel as the last channel.

    Returns
    -------
    np.ndarray
        float32, shape (H, W, C), C-contiguous; see the module docstring.

    Raises
    ------
    InputError
        For anything that is not a usable input, with a message naming the file; also
        when ``path`` is not a path at all (bytes, None, ...).
    ValueError
        When ``max_side`` is not a whole number of at least 1.
    """
    return read_input(path, max_side=max_side, keep_alpha=keep_alpha).array


def read_input(
    path: str | os.PathLike[str],
    *,
    max_side: int | None = 256,
    keep_alpha: bool = False,
    settings: LayerSettings | None = None,
) -> LoadedInput:
    """Load an input file together with what the GUI shows about it.

    Same parameters and errors as :func:`load_input`, except that ``max_side``
    defaults to 256 so that the live view stays fast. With ``settings`` (the layer's
    LayerSettings) an input whose layer would exceed the memory budget is refused, with
    the size that fits, before it is converted or downscaled (a raised ``max_side``).

    Returns
    -------
    LoadedInput
    """
    path = as_path(path)
    if max_side is not None and (
        not isinstance(max_side, int | np.integer) or isinstance(max_side, bool) or max_side < 1
    ):
        raise ValueError(f"max_side must be a whole number of at least 1, not {max_side!r}")
    label = display_name(path)
    check_file(path, label)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}' files" if suffix else "files without an extension"
        raise InputError(
            f"{label}: convviz cannot open {kind}; it opens {', '.join(SUPPORTED_SUFFIXES)}"
        )
    with _as_input_error(label):
        if suffix in IMAGE_SUFFIXES:
            pixels, names, divisor, (h, w) = _read_image(path, label, keep_alpha, max_side)
            notice = None
        else:
            read = _open_npy if suffix == ".npy" else _read_npz
            pixels, notice = read(path, label)  # a notice when read channels-first
            names = tuple(f"ch {i + 1}" for i in range(pixels.shape[2]))
            divisor, (h, w) = 1.0, pixels.shape[:2]
        c = pixels.shape[2]
        downscaled = max_side is not None and max(h, w) > max_side
        out_h, out_w = fit_within(h, w, max_side) if downscaled and max_side else (h, w)
        if settings is not None:
            check_budget(out_h, out_w, c, settings, label)
        check_finite(pixels, label)  # integer pixels pass at once
        if downscaled and max_side is not None:
            array = area_downscale(pixels, out_h, out_w, divisor)
            shrunk = f"Downscaled from {w}×{h} to {out_w}×{out_h} so the view stays live."
            notice = shrunk if notice is None else f"{notice} {shrunk}"
        else:
            if _own_float32(pixels):  # read and converted into an array of its own
                array = pixels
            else:  # a copy, so that no memory map keeps the file open
                array = np.array(pixels, dtype=np.float32, order="C")
            if divisor != 1.0:
                array /= np.float32(divisor)
    return LoadedInput(array, names, path, (h, w, c), downscaled, notice)


def validate_input_array(a: np.ndarray, name: str = "array") -> np.ndarray:
    """Check an in-memory array with the rules used for files.

    Parameters
    ----------
    a : array_like
        (H, W), (H, W, C), (C, H, W) or any of these with a leading axis of 1.
    name : str
        How the array is called in error messages.

    Returns
    -------
    np.ndarray
        float32, (H, W, C), C-contiguous; ``a`` itself when it already is one.

    Raises
    ------
    InputError
        Wrong rank, an empty axis, too many channels or pixels, a non-numeric
        dtype (complex, object, structured, text), or NaN/infinite values.
    """
    a = np.asarray(a)
    check_dtype(a.dtype, name)
    view = apply_layout(a, _layout(a.shape, name)[0])
    check_finite(view, name)
    return np.ascontiguousarray(view, dtype=np.float32)


def save_array(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Save an input as a .npy file that :func:`load_input` reads back unchanged.

    The array is validated and stored as float32 (H, W, C). The file is written
    to a temporary name in the same folder and then renamed over ``path``, so
    an existing file is never left half-written.

    Parameters
    ----------
    path : str or PathLike
        Target file; ``.npy`` is appended when it has another suffix.
    array : array_like
        Anything :func:`validate_input_array` accepts.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        When the array is not a valid input (nothing is written).
    OSError
        When the folder cannot be written to.
    """
    path = Path(path)
    if path.suffix.lower() != ".npy":
        path = path.with_name(path.name + ".npy")
    data = validate_input_array(array, name=path.name)
    save_npy_atomic(path, data)
    return path


@contextlib.contextmanager
def _as_input_error(label: str) -> Iterator[None]:
    """Turn whatever a decoder raises on a hostile file into an InputError."""
    try:
        yield
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{label}: there is not enough memory to load this file") from None
    except PermissionError:
        raise InputError(f"{label}: the file cannot be read (permission denied)") from None
    except Exception as exc:  # decoders fed bad bytes raise nearly any type
        detail = str(exc) or type(exc).__name__
        if len(detail) > 120:
            detail = detail[:117] + "..."
        raise InputError(f"{label}: the file is truncated or corrupt ({detail})") from exc


def as_path(path: object) -> Path:
    """``path`` as a Path, or an InputError saying what a path is."""
    if isinstance(path, str | os.PathLike) and not isinstance(path, bytes):
        try:
            return Path(path)
        except TypeError:  # a PathLike whose __fspath__ gives bytes
            pass
    what = type(path).__name__
    hint = (
        "; to load data held in memory, save it to a file first"
        if what in ("bytes", "bytearray", "memoryview", "ndarray")
        else ""
    )
    raise InputError(f"expected the path of a file (a str or os.PathLike), not {what}{hint}")


def check_file(path: Path, label: str) -> None:
    """Raise InputError unless ``path`` is an existing, non-empty regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        where = display_name(path.absolute(), full=True)
        raise InputError(f"{label}: there is no such file (looked for {where})") from None
    except OSError as exc:
        raise InputError(f"{label}: the file cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{label}: this is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        # Reading a pipe or device could block forever.
        raise InputError(f"{label}: this is not a regular file")
    if st.st_size == 0:
        raise InputError(f"{label}: the file is empty (0 bytes)")


def _own_float32(a: np.ndarray) -> bool:
    """Whether ``a`` is a plain float32 C-contiguous array owning its memory (no file map)."""
    return (
        type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.owndata
    )
