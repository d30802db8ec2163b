"""Field checks for ``session.json``: types, ranges and names, each refusal an InputError.

Kept apart from :mod:`convviz.io.session` so that the format's structure reads on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, overload

from convviz.core.activations import ACTIVATIONS
from convviz.core.model import (
    MAX_CHANNELS,
    MAX_FILTERS,
    MAX_KERNEL,
    PADDING_MODES,
    PADDINGS,
    LayerSettings,
)
from convviz.io._checks import InputError

MAX_STEP = 16  # strides and dilation: the layer panel's range
MAX_PAD = 256


def check_keys(
    obj: Mapping[str, object], expected: Collection[str], label: str, where: str
) -> None:
    missing = [k for k in expected if k not in obj]
    if missing:
        raise InputError(f"{label}: {where} lacks the field(s) {', '.join(missing)}")
    extra = sorted(str(k) for k in obj if k not in expected)
    if extra:
        raise InputError(
            f"{label}: {where} has unknown field(s) {', '.join(extra)}; convviz refuses "
            "files it cannot fully understand"
        )


def check_int(value: object, label: str, what: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{label}: {what} must be a whole number, not {value!r}")
    if not lo <= value <= hi:
        raise InputError(f"{label}: {what} is {value}, outside {lo} to {hi}")
    return value


def check_ints(value: object, n: int, label: str, what: str, lo: int, hi: int) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) != n:
        raise InputError(f"{label}: {what} must be a list of {n} whole numbers, not {value!r}")
    return tuple(check_int(v, label, what, lo, hi) for v in value)


def check_choice(value: object, options: Collection[str], label: str, what: str) -> str:
    if value not in options or not isinstance(value, str):
        raise InputError(f"{label}: {what} {value!r} is not one of {', '.join(options)}")
    return value


def check_flag(value: object, label: str, what: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{label}: {what} must be true or false, not {value!r}")
    return value


@overload
def check_text(
    value: object, label: str, what: str, limit: int, optional: Literal[False] = False
) -> str: ...


@overload
def check_text(
    value: object, label: str, what: str, limit: int, optional: bool = False
) -> str | None: ...


def check_text(
    value: object, label: str, what: str, limit: int, optional: bool = False
) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(f"{label}: {what} must be a text of at most {limit:,} characters")
    return value


def check_padding(value: object, label: str) -> str | tuple[int, ...]:
    if isinstance(value, list):
        return check_ints(value, 4, label, "padding (top, bottom, left, right)", 0, MAX_PAD)
    return check_choice(value, PADDINGS, label, "padding")


# Each parses one field of the settings, of its own type: what they return is Any.
SETTING_PARSERS: dict[str, Callable[[object, str], Any]] = {
    "kernel_size": lambda v, lb: check_ints(v, 2, lb, "kernel_size", 1, MAX_KERNEL),
    "filters": lambda v, lb: check_int(v, lb, "filters", 1, MAX_FILTERS),
    "strides": lambda v, lb: check_ints(v, 2, lb, "strides", 1, MAX_STEP),
    "padding": check_padding,
    "dilation": lambda v, lb: check_ints(v, 2, lb, "dilation", 1, MAX_STEP),
    "groups": lambda v, lb: check_int(v, lb, "groups", 1, MAX_CHANNELS),
    "activation": lambda v, lb: check_choice(v, ACTIVATIONS, lb, "activation"),
    "use_bias": lambda v, lb: check_flag(v, lb, "use_bias"),
    "padding_mode": lambda v, lb: check_choice(v, PADDING_MODES, lb, "padding_mode"),
    "flip_kernel": lambda v, lb: check_flag(v, lb, "flip_kernel"),
}


def parse_settings(raw: object, label: str) -> LayerSettings:
    if not isinstance(raw, dict):
        raise InputError(f"{label}: settings must be a JSON object")
    check_keys(raw, tuple(SETTING_PARSERS), label, "settings")
    settings = LayerSettings(**{k: parse(raw[k], label) for k, parse in SETTING_PARSERS.items()})
    refusal = settings.keras_refusal()
    if refusal:
        raise InputError(f"{label}: {refusal}")
    return settings
