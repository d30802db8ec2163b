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
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from convviz import __version__
from convviz.core.model import Document, LayerSettings
from convviz.core.resources import SESSION_SUFFIX
from convviz.core.stack import ConvLayer, PoolLayer
from convviz.io._checks import check_weights
from convviz.io._session_archive import (
    _ARRAYS,
    _META,
    _ZIP64_FROM,
    _member,
    _parse_array_table,
    _read_npy,
    _write_npy,
)
from convviz.io._session_fields import (
    check_int,
    check_keys,
    check_text,
    parse_settings,
)
from convviz.io._session_layers import _check_later_shapes, _check_shapes, _parse_layers
from convviz.io.atomic import atomic_writer
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError, as_path, check_file, validate_input_array

__all__ = ["FORMAT", "SUFFIX", "VERSION", "Session", "load_session", "save_session"]

FORMAT = "convviz-session"
VERSION = 2
SUFFIX = SESSION_SUFFIX

STATE_KEYS = ("input", "kernel", "bias", "settings", "channel_names", "selected_filter")
NETWORK_KEYS = (*STATE_KEYS, "layers", "shown")
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
_MAX_JSON_BYTES = 1_000_000
_MAX_LESSON_CHARS = 20_000
_MAX_NAME_CHARS = 40

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
