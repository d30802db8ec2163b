"""convviz sessions: a whole document (input, weights, layer settings) in one ``.convviz`` file.

A session is a zip archive (deflated) holding ``session.json`` and three ``.npy`` arrays:
``input`` (H, W, C), ``kernel`` (kh, kw, C // groups, filters) and ``bias`` (filters,), all
float32. ``session.json`` holds the format name and version, the app version, every
:class:`~convviz.core.model.LayerSettings` field, the channel names, the selected filter,
free-form view options, an optional lesson text and, for each array, its member name,
shape and dtype.

Reading never executes anything from the file: JSON for the description, and
``.npy`` members are parsed from their header (checked against the settings and the size
limits before any value is read) with pickling refused. Every problem is an
:class:`~convviz.io.inputs.InputError` naming the file and saying what is wrong.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from convviz import __version__
from convviz.core.model import MAX_CHANNELS, Document, LayerSettings
from convviz.core.resources import SESSION_SUFFIX
from convviz.core.words import count
from convviz.io._checks import check_budget, check_dtype, check_size, check_weights
from convviz.io._session_fields import (
    check_int,
    check_keys,
    check_text,
    parse_settings,
)
from convviz.io.atomic import atomic_writer
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError, as_path, check_file, validate_input_array

__all__ = ["FORMAT", "SUFFIX", "VERSION", "Session", "load_session", "save_session"]

FORMAT = "convviz-session"
VERSION = 1
SUFFIX = SESSION_SUFFIX

STATE_KEYS = ("input", "kernel", "bias", "settings", "channel_names", "selected_filter")
_META = "session.json"
_ARRAYS = ("input", "kernel", "bias")
_FIELDS = (
    "format",
    "version",
    "app_version",
    "settings",
    "channel_names",
    "selected_filter",
    "view",
    "lesson",
    "arrays",
)
_MAX_JSON_BYTES = 1_000_000
_MAX_LESSON_CHARS = 20_000
_MAX_NAME_CHARS = 40
_NPY_HEADER_ROOM = 65_536  # numpy refuses longer headers anyway
# Zip timestamps are fixed so that the same document always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Older files are upgraded one version at a time: _UPGRADES[v] turns a version-v
# description into a version v+1 one, giving fields added in v+1 the value that
# reproduces what version v meant. Version 1 is the first, so nothing is older yet and a
# version below 1 is refused as unknown.
_UPGRADES: dict[int, Callable[[dict], dict]] = {}


@dataclass(frozen=True, eq=False)
class Session:
    """What a session file holds.

    Attributes
    ----------
    state : dict
        ``input``, ``kernel``, ``bias`` (float32 arrays), ``settings``
        (LayerSettings), ``channel_names`` (tuple of str), ``selected_filter`` (int):
        what :meth:`Controller.open_state` takes.
    view : dict
        Free-form view options (brush, colour map, ...).
    lesson : str or None
        The explanation shown beside the views, if the session is a lesson.
    version : int
        The format version the file was written in (before any upgrade).
    """

    state: dict
    view: dict
    lesson: str | None
    version: int


def save_session(
    path: str | os.PathLike[str], state: dict, *, view: dict | None = None, lesson=None
) -> Path:
    """Write a document to a session file, atomically.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace (used as given; callers add ``SUFFIX``).
    state : dict
        As returned by :meth:`Controller.state`.
    view : dict, optional
        JSON-serialisable view options.
    lesson : str, optional
        An explanation to show with the session.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        When the state is inconsistent, its settings or weights (beyond ±1e6) are
        outside what a session can hold, or ``view`` is not JSON-serialisable; nothing is
        written.
    OSError
        When the file cannot be written; an existing file is then left unchanged.
    """
    path = Path(path)
    doc = Document(**{k: state[k] for k in STATE_KEYS})
    arrays = {"input": doc.input, "kernel": doc.kernel, "bias": doc.bias}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "app_version": __version__,
        "settings": {f.name: _plain(getattr(doc.settings, f.name)) for f in fields(LayerSettings)},
        "channel_names": list(doc.channel_names),
        "selected_filter": doc.selected_filter,
        "view": dict(view or {}),
        "lesson": lesson,
        "arrays": {
            name: {"file": f"{name}.npy", "shape": list(a.shape), "dtype": "float32"}
            for name, a in arrays.items()
        },
    }
    # Refuse now what load_session would refuse later.
    parse_settings(meta["settings"], display_name(path))
    check_weights(doc.kernel, doc.bias, display_name(path))
    check_text(lesson, display_name(path), "lesson", _MAX_LESSON_CHARS, optional=True)
    try:
        text = json.dumps(meta, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the view options cannot be saved: {exc}") from None
    with atomic_writer(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_member(_META), text.encode("utf-8"))
        for name, a in arrays.items():
            # Streamed into the member a chunk at a time: no whole copy of the array in
            # memory, and a save on a worker thread never holds the interpreter for long.
            big = a.nbytes > _ZIP64_FROM
            with zf.open(_member(f"{name}.npy"), "w", force_zip64=big) as member:
                _write_npy(member, a)
    return path


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and check a session file.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    Session

    Raises
    ------
    InputError
        For anything that is not a valid, consistent session this version can read;
        the message names the file and the problem.
    """
    path = as_path(path)
    label = display_name(path)
    check_file(path, label)
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(zf, label)
    except InputError:
        raise
    except zipfile.BadZipFile:
        raise InputError(f"{label}: this is not a convviz session (not a zip archive)") from None
    except MemoryError:
        raise InputError(f"{label}: there is not enough memory to open this session") from None
    except PermissionError:
        raise InputError(f"{label}: the file cannot be read (permission denied)") from None
    except Exception as exc:  # zlib, zipfile and numpy raise many types on damaged data
        detail = (str(exc) or type(exc).__name__)[:120]
        raise InputError(f"{label}: the session is truncated or corrupt ({detail})") from exc


# -- writing helpers ---------------------------------------------------------------------


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


# A member whose size is not known before it is written needs the zip64 format from here.
_ZIP64_FROM = (1 << 31) - (1 << 24)


def _write_npy(out, a: np.ndarray) -> None:
    """``a`` in the .npy format, its memory handed to ``out`` a megabyte at a time
    (uncopied: the compressor reads it without holding the interpreter)."""
    a = np.ascontiguousarray(a)
    np.lib.format.write_array_header_1_0(out, np.lib.format.header_data_from_array_1_0(a))
    flat = a.reshape(-1).view(np.uint8)
    step = 1 << 20
    for start in range(0, flat.size, step):
        out.write(memoryview(flat[start : start + step]))


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# -- reading -----------------------------------------------------------------------------


def _read(zf: zipfile.ZipFile, label: str) -> Session:
    infos = {info.filename: info for info in zf.infolist()}
    if _META not in infos:
        raise InputError(f"{label}: this zip archive is not a convviz session (no {_META})")
    meta = _read_meta(zf, infos[_META], label)
    version = meta["version"]
    meta = _upgrade(meta)
    check_keys(meta, _FIELDS, label, _META)
    check_text(meta["app_version"], label, "app_version", _MAX_NAME_CHARS)
    settings = parse_settings(meta["settings"], label)
    names = meta["channel_names"]
    if not isinstance(names, list) or not names:
        raise InputError(f"{label}: channel_names must be a non-empty list of names")
    names = tuple(check_text(n, label, "a channel name", _MAX_NAME_CHARS) for n in names)
    selected = check_int(meta["selected_filter"], label, "selected_filter", 0, settings.filters - 1)
    view = meta["view"]
    if not isinstance(view, dict):
        raise InputError(f"{label}: view must be a JSON object, not {type(view).__name__}")
    lesson = check_text(meta["lesson"], label, "lesson", _MAX_LESSON_CHARS, optional=True)
    table = _parse_array_table(meta["arrays"], label)
    extra = sorted(set(infos) - {_META} - {file for file, _ in table.values()})
    if extra:
        raise InputError(f"{label}: the archive holds unexpected members: {', '.join(extra)}")
    _check_shapes({k: shape for k, (_, shape) in table.items()}, settings, len(names), label)
    arrays = {}
    for name, (file, shape) in table.items():
        if file not in infos:
            raise InputError(f"{label}: the {name} array ({file}) is missing from the archive")
        arrays[name] = _read_npy(zf, infos[file], shape, f"{label} ({name})")
    check_weights(arrays["kernel"], arrays["bias"], label)
    state = dict(
        input=validate_input_array(arrays["input"], f"{label} (input)"),
        kernel=arrays["kernel"],
        bias=arrays["bias"],
        settings=settings,
        channel_names=names,
        selected_filter=selected,
    )
    try:
        Document(**state)
    except ValueError as exc:
        raise InputError(f"{label}: the session contradicts itself: {exc}") from None
    return Session(state=state, view=view, lesson=lesson, version=version)


def _read_meta(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> dict:
    if info.file_size > _MAX_JSON_BYTES:
        raise InputError(
            f"{label}: {_META} is {info.file_size:,} bytes, more than a session description "
            f"can be ({_MAX_JSON_BYTES:,})"
        )
    try:
        meta = json.loads(zf.read(info).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSON and UTF-8 errors are ValueErrors
        raise InputError(f"{label}: {_META} is not valid JSON ({str(exc)[:100]})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{label}: {_META} must hold a JSON object, not {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise InputError(
            f"{label}: this is not a convviz session (format {meta.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    if "version" not in meta:
        raise InputError(f"{label}: {_META} does not say its format version")
    version = meta["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(f"{label}: the format version must be a whole number, not {version!r}")
    if version > VERSION:
        raise InputError(
            f"{label}: made by a newer convviz (format {version}); this version reads up to "
            f"{VERSION}. Update convviz to open it."
        )
    if version < 1:
        raise InputError(f"{label}: unknown format version {version}; the first version is 1")
    return meta


def _upgrade(meta: dict) -> dict:
    """Bring a description of any supported older version up to ``VERSION``."""
    while meta["version"] < VERSION:
        meta = _UPGRADES[meta["version"]](meta)
    return meta


def _parse_array_table(raw, label: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    if not isinstance(raw, dict):
        raise InputError(f"{label}: arrays must be a JSON object")
    check_keys(raw, _ARRAYS, label, "arrays")
    table = {}
    for name in _ARRAYS:
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


def _check_shapes(shapes: dict, s: LayerSettings, n_names: int, label: str) -> None:
    """Declared shapes against the settings, before any array is read."""
    if len(shapes["input"]) != 3:
        raise InputError(f"{label}: the input must be (H, W, C), not {shapes['input']}")
    h, w, c = shapes["input"]
    if c > MAX_CHANNELS:
        raise InputError(f"{label}: the input has {c} channels, more than {MAX_CHANNELS}")
    check_size(h, w, c, f"{label} (input)")
    check_budget(h, w, c, s, label)
    if c % s.groups or s.filters % s.groups:
        raise InputError(
            f"{label}: groups={s.groups} must divide both the input channels ({c}) and the "
            f"filters ({s.filters})"
        )
    expected = (*s.kernel_size, c // s.groups, s.filters)
    if shapes["kernel"] != expected:
        raise InputError(
            f"{label}: the kernel tensor has shape {shapes['kernel']}, but kernel_size "
            f"{s.kernel_size}, {count(c, 'input channel')}, groups={s.groups} and "
            f"{count(s.filters, 'filter')} "
            f"need (kh, kw, C_in // groups, filters) = {expected}"
        )
    if shapes["bias"] != (s.filters,):
        raise InputError(
            f"{label}: the bias has shape {shapes['bias']}, but {count(s.filters, 'filter')} need "
            f"({s.filters},)"
        )
    if n_names != c:
        raise InputError(
            f"{label}: {count(n_names, 'channel name')} for an input of {count(c, 'channel')}"
        )


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape, label: str) -> np.ndarray:
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
