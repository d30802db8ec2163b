"""The network a session describes, checked before any array is read: the entries of its
later layers in ``session.json``, and the kernel and bias shapes (and memory budget) of
every layer against the input it reads.

Kept apart from :mod:`convviz.io.session`, which describes the format as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convviz.core.geometry import conv_geometry
from convviz.core.model import MAX_CHANNELS, LayerSettings
from convviz.core.stack import MAX_LAYERS, MAX_POOL, POOL_PADDINGS
from convviz.core.words import count
from convviz.io._checks import InputError, check_budget, check_size
from convviz.io._session_fields import (
    check_choice,
    check_int,
    check_ints,
    check_keys,
    parse_settings,
)

_CONV_FIELDS = ("kind", "settings", "selected_filter", "kernel", "bias")
_POOL_FIELDS = ("kind", "pool_size", "strides", "padding")


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
