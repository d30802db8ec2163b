"""convviz sessions: a whole document (input, a network of layers) in one ``.convviz`` file.

A session is a zip archive (deflated) holding ``session.json`` and ``.npy`` arrays:
``input`` (H, W, C), ``kernel`` (kh, kw, C // groups, filters) and ``bias`` (filters,) of
the first layer, and ``layerN_kernel``, ``layerN_bias`` of every later Conv2D layer N, all
float32. ``session.json`` holds the format name and version, the app version, every
:class:`~convviz.core.model.LayerSettings` field of the first layer, the channel names,
the selected filter, the later ``layers`` (a Conv2D's settings, selected filter and array
names; a MaxPooling2D's pool size, strides and padding), which layer is ``shown``,
free-form view options, an optional lesson text and, for each array, its member name,
shape and dtype. Version 1 files (one layer, no ``layers`` or ``shown``) are read too.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from convviz import __version__
from convviz.core.geometry import conv_geometry
from convviz.core.model import MAX_CHANNELS, Document, LayerSettings
from convviz.core.resources import SESSION_SUFFIX
from convviz.core.stack import MAX_LAYERS, MAX_POOL, POOL_PADDINGS, ConvLayer, PoolLayer
from convviz.core.words import count
from convviz.io._checks import check_budget, check_dtype, check_size, check_weights
from convviz.io._session_fields import (
    check_choice,
    check_int,
    check_ints,
    check_keys,
    check_text,
    parse_settings,
)
from convviz.io.atomic import atomic_writer
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError, as_path, check_file, validate_input_array

__all__ = ["FORMAT", "SUFFIX", "VERSION", "Session", "load_session", "save_session"]

FORMAT = "convviz-session"
VERSION = 2
SUFFIX = SESSION_SUFFIX

STATE_KEYS = ("input", "kernel", "bias", "settings", "channel_names", "selected_filter")
NETWORK_KEYS = (*STATE_KEYS, "layers", "shown")
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
    "layers",
    "shown",
)
_CONV_FIELDS = ("kind", "settings", "selected_filter", "kernel", "bias")
_POOL_FIELDS = ("kind", "pool_size", "strides", "padding")
_MAX_JSON_BYTES = 1_000_000
_MAX_LESSON_CHARS = 20_000
_MAX_NAME_CHARS = 40
_NPY_HEADER_ROOM = 65_536  # numpy refuses longer headers anyway
# Zip timestamps are fixed so that the same document always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Older files are upgraded one version at a time: _UPGRADES[v] turns a version-v
# description into a version v+1 one, giving fields added in v+1 the value that
# reproduces what version v meant. Version 1 is the first; a version below 1 is refused as
# unknown.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: lambda meta: {**meta, "version": 2, "layers": [], "shown": 0},  # one layer
}


@dataclass(frozen=True, eq=False)
class Session:
    """What a session file holds.

    Attributes
    ----------
    state : dict
        ``input``, ``kernel``, ``bias`` (float32 arrays), ``settings``
        (LayerSettings), ``channel_names`` (tuple of str), ``selected_filter`` (int) of
        the network's input and first layer, ``layers`` (the later ConvLayer and
        PoolLayer) and ``shown`` (int, from 0): what :meth:`Controller.open_state` takes.
    view : dict
        Free-form view options (brush, colour map, ...).
    lesson : str or None
        The explanation shown beside the views, if the session is a lesson.
    version : int
        The format version the file was written in (before any upgrade).
    """

    state: dict[str, Any]
    view: dict[str, Any]
    lesson: str | None
    version: int


def save_session(
    path: str | os.PathLike[str],
    state: Mapping[str, Any],
    *,
    view: Mapping[str, Any] | None = None,
    lesson: str | None = None,
) -> Path:
    """Write a document to a session file, atomically.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace (used as given; callers add ``SUFFIX``).
    state : dict
        As returned by :meth:`Controller.network_state` (``layers`` and ``shown`` may be
        left out: one layer).
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
    layers = tuple(state.get("layers", ()))
    doc = Document(**{k: state[k] for k in STATE_KEYS}, after=layers)
    arrays = {"input": doc.input, "kernel": doc.kernel, "bias": doc.bias}
    described = []
    for n, layer in enumerate(layers, 2):
        if isinstance(layer, ConvLayer):
            arrays[f"layer{n}_kernel"], arrays[f"layer{n}_bias"] = layer.kernel, layer.bias
            check_weights(layer.kernel, layer.bias, display_name(path))
            described.append(
                {
                    "kind": layer.kind,
                    "settings": _settings_json(layer.settings),
                    "selected_filter": layer.selected_filter,
                    "kernel": f"layer{n}_kernel",
                    "bias": f"layer{n}_bias",
                }
            )
        else:
            described.append(
                {
                    "kind": layer.kind,
                    "pool_size": list(layer.pool_size),
                    "strides": None if layer.strides is None else list(layer.strides),
                    "padding": layer.padding,
                }
            )
    shown = int(state.get("shown", 0))
    if not 0 <= shown <= len(layers) or (shown and not isinstance(layers[shown - 1], ConvLayer)):
        raise ValueError(f"layer {shown + 1} cannot be the one shown")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "app_version": __version__,
        "settings": _settings_json(doc.settings),
        "channel_names": list(doc.channel_names),
        "selected_filter": doc.selected_filter,
        "view": dict(view or {}),
        "lesson": lesson,
        "arrays": {
            name: {"file": f"{name}.npy", "shape": list(a.shape), "dtype": "float32"}
            for name, a in arrays.items()
        },
        "layers": described,
        "shown": shown,
    }
    # Refuse now what load_session would refuse later.
    for raw in [meta["settings"], *(d["settings"] for d in described if "settings" in d)]:
        parse_settings(raw, display_name(path))
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


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _settings_json(settings: LayerSettings) -> dict[str, object]:
    return {f.name: _plain(getattr(settings, f.name)) for f in fields(LayerSettings)}


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
    later = _parse_layers(meta["layers"], label)
    shown = check_int(meta["shown"], label, "shown", 0, len(later))
    if shown and later[shown - 1][0] != "Conv2D":
        raise InputError(f"{label}: layer {shown + 1}, the one shown, is not a Conv2D layer")
    wanted = (
        *_ARRAYS,
        *(name for kind, fields_ in later if kind == "Conv2D" for name in fields_[2:]),
    )
    table = _parse_array_table(meta["arrays"], label, wanted)
    extra = sorted(set(infos) - {_META} - {file for file, _ in table.values()})
    if extra:
        raise InputError(f"{label}: the archive holds unexpected members: {', '.join(extra)}")
    declared = {k: shape for k, (_, shape) in table.items()}
    _check_shapes(declared, settings, len(names), label)
    _check_later_shapes(declared, settings, later, label)
    arrays = {}
    for name, (file, shape) in table.items():
        if file not in infos:
            raise InputError(f"{label}: the {name} array ({file}) is missing from the archive")
        arrays[name] = _read_npy(zf, infos[file], shape, f"{label} ({name})")
    check_weights(arrays["kernel"], arrays["bias"], label)
    layers: list[ConvLayer | PoolLayer] = []
    for kind, values in later:
        if kind == "Conv2D":
            layer_settings, chosen, kernel_name, bias_name = values
            check_weights(arrays[kernel_name], arrays[bias_name], label)
            layers.append(ConvLayer(arrays[kernel_name], arrays[bias_name], layer_settings, chosen))
        else:
            layers.append(PoolLayer(*values))
    state = dict(
        input=validate_input_array(arrays["input"], f"{label} (input)"),
        kernel=arrays["kernel"],
        bias=arrays["bias"],
        settings=settings,
        channel_names=names,
        selected_filter=selected,
        layers=tuple(layers),
        shown=shown,
    )
    try:
        Document.from_network(state)
    except ValueError as exc:
        raise InputError(f"{label}: the session contradicts itself: {exc}") from None
    return Session(state=state, view=view, lesson=lesson, version=version)


def _read_meta(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> dict[str, Any]:
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


def _upgrade(meta: dict[str, Any]) -> dict[str, Any]:
    """Bring a description of any supported older version up to ``VERSION``."""
    while meta["version"] < VERSION:
        meta = _UPGRADES[meta["version"]](meta)
    return meta


def _parse_layers(raw: object, label: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The later layers' descriptions, checked: ("Conv2D", (settings, selected filter,
    kernel array name, bias array name)) or ("MaxPooling2D", (pool size, strides,
    padding))."""
    if not isinstance(raw, list) or len(raw) > MAX_LAYERS - 1:
        raise InputError(f"{label}: layers must be a list of at most {MAX_LAYERS - 1} layers")
    layers: list[tuple[str, tuple[Any, ...]]] = []
    for n, entry in enumerate(raw, 2):
        where = f"layer {n}"
        if not isinstance(entry, dict):
            raise InputError(f"{label}: {where} must be a JSON object")
        kind = check_choice(entry.get("kind"), ("Conv2D", "MaxPooling2D"), label, f"{where}'s kind")
        if kind == "Conv2D":
            check_keys(entry, _CONV_FIELDS, label, where)
            s = parse_settings(entry["settings"], label)
            chosen = check_int(
                entry["selected_filter"], label, f"{where}'s selected_filter", 0, s.filters - 1
            )
            if entry["kernel"] != f"layer{n}_kernel" or entry["bias"] != f"layer{n}_bias":
                raise InputError(
                    f"{label}: {where}'s arrays must be layer{n}_kernel and layer{n}_bias"
                )
            layers.append((kind, (s, chosen, entry["kernel"], entry["bias"])))
        else:
            check_keys(entry, _POOL_FIELDS, label, where)
            pool = check_ints(entry["pool_size"], 2, label, f"{where}'s pool_size", 1, MAX_POOL)
            strides = entry["strides"]
            if strides is not None:
                strides = check_ints(strides, 2, label, f"{where}'s strides", 1, MAX_POOL)
            padding = check_choice(entry["padding"], POOL_PADDINGS, label, f"{where}'s padding")
            layers.append((kind, (pool, strides, padding)))
    return layers


def _check_later_shapes(
    shapes: Mapping[str, tuple[int, ...]],
    first: LayerSettings,
    later: Sequence[tuple[str, tuple[Any, ...]]],
    label: str,
) -> None:
    """The later layers' declared kernel and bias shapes against what each reads, and
    each Conv2D's memory budget, before any array is read."""
    h, w, _ = shapes["input"]
    g = conv_geometry(
        (h, w), first.kernel_size, first.strides, first.padding, first.dilation, allow_empty=True
    )
    (h, w), c = g.output_size, first.filters
    for n, (kind, values) in enumerate(later, 2):
        if kind == "MaxPooling2D":
            pool, strides, padding = values
            if h * w:
                h, w = conv_geometry(
                    (h, w), pool, strides or pool, padding, allow_empty=True
                ).output_size
            continue
        s = values[0]
        if c % s.groups or s.filters % s.groups:
            raise InputError(
                f"{label}: layer {n}: groups={s.groups} must divide its {c} input channels "
                f"and {s.filters} filters"
            )
        expected = (*s.kernel_size, c // s.groups, s.filters)
        if shapes[values[2]] != expected or shapes[values[3]] != (s.filters,):
            raise InputError(
                f"{label}: layer {n}'s kernel tensor has shape {shapes[values[2]]}; reading "
                f"{count(c, 'channel')} it must be {expected}, with a bias of ({s.filters},)"
            )
        if h * w:
            check_budget(h, w, c, s, f"{label} (layer {n})")
            h, w = conv_geometry(
                (h, w), s.kernel_size, s.strides, s.padding, s.dilation, allow_empty=True
            ).output_size
        c = s.filters


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


def _check_shapes(
    shapes: Mapping[str, tuple[int, ...]], s: LayerSettings, n_names: int, label: str
) -> None:
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
