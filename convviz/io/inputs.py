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
import math
import os
import stat
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

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
    check_size,
    shape_layout,
)
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

# Only these decoders may run, whatever a file's bytes claim to be: fewer
# rarely used parsers exposed to hostile data.
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_GREY_MODES = ("1", "L", "LA")
_NPZ_PREFERRED = ("input", "x")


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


_CHUNK_BYTES = 1 << 20


def _own_float32(a: np.ndarray) -> bool:
    """Whether ``a`` is a plain float32 C-contiguous array owning its memory (no file map)."""
    return (
        type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.owndata
    )


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


def _read_image(
    path: Path, label: str, keep_alpha: bool, max_side: int | None
) -> tuple[np.ndarray, tuple[str, ...], float, tuple[int, int]]:
    """Decode an image.

    Returns (H, W, C) integer pixels, channel names, the value of full
    intensity and the upright (height, width) of the whole image: a JPEG due
    to be downscaled is decoded directly at a reduced size.
    """
    with warnings.catch_warnings():
        # Pillow's own bomb limit is looser than _check_size, which runs next.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=_PIL_FORMATS)
        except Image.DecompressionBombError:
            raise InputError(
                f"{label}: the image is too large: its header declares more than "
                f"{MAX_PIXELS:,} pixels, the most convviz accepts"
            ) from None
        except UnidentifiedImageError:
            raise InputError(
                f"{label}: this is not an image convviz can read (not a valid PNG, JPEG, "
                "BMP, GIF or WebP file)"
            ) from None
    with image:
        w, h = image.size
        check_size(h, w, len(image.getbands()), label)
        if max_side is not None and max(h, w) > max_side:
            # JPEG can decode at 1/2, 1/4 or 1/8 scale, never below the target
            # size: much faster and smaller for big photos. Other formats ignore it.
            image.draft(None, fit_within(h, w, max_side)[::-1])
        image.load()
        decoded_size = image.size
        ImageOps.exif_transpose(image, in_place=True)
        if image.size != decoded_size:  # turned a quarter: width and height swap
            h, w = w, h
        alpha = keep_alpha and ("A" in image.getbands() or "transparency" in image.info)
        if image.mode in _SIXTEEN_BIT_MODES:
            grey = np.asarray(image)
            if image.mode == "I":  # older Pillow opens 16-bit grey PNGs as 32-bit "I"
                grey = np.clip(grey, 0, 65535)
            planes = [grey.astype(np.uint16, copy=False)]
            if alpha:
                planes.append(np.where(grey == image.info["transparency"], 0, 65535))
            pixels = np.stack(planes, axis=-1).astype(np.uint16, copy=False)
            return pixels, ("grey", "A")[: len(planes)], 65535.0, (h, w)
        is_grey = image.mode in _GREY_MODES
        target = ("LA" if alpha else "L") if is_grey else ("RGBA" if alpha else "RGB")
        converted = image if image.mode == target else image.convert(target)
        pixels = np.asarray(converted)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    names = ("grey", "A") if is_grey else ("R", "G", "B", "A")
    return pixels, names[: pixels.shape[2]], 255.0, (h, w)
