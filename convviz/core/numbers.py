"""Parse and format the numbers a teacher types into a kernel cell.

Pure Python (no Qt, no numpy) so the rules can be tested on their own and reused by any
front end. Parsing is done with a regular expression and ``float``; ``eval`` is never used.
"""

from __future__ import annotations

import math
import re
from typing import SupportsFloat

__all__ = ["MAX_MAGNITUDE", "NUDGE_STEP", "format_number", "parse_number", "short_number"]

NUDGE_STEP = 0.1
"""One wheel notch / drag step / Page Up. Shift multiplies it by 10, Ctrl divides it by 10."""

MAX_MAGNITUDE = 1e6
"""Larger values only make every feature map saturate; they are almost always typos."""

_HINT = "type e.g. -1.5, 1e-3 or 1/9"

# ASCII digits only: ``float`` would also accept Arabic-Indic digits, underscores, "nan"
# and "infinity", none of which belong in a kernel cell.
_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(rf"(?P<num>{_DECIMAL})(?:\s*/\s*(?P<den>{_DECIMAL}))?", re.ASCII)
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.ASCII | re.IGNORECASE)

# Word processors and some keyboard layouts produce these instead of "-".
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-"})


def _quote(text: str) -> str:
    """Quote user text for an error message, shortened so it fits a status bar."""
    return f"'{text[:17]}…'" if len(text) > 20 else f"'{text}'"


def parse_number(text: str) -> float:
    """Read one kernel value as typed by a person.

    Accepted: integers and decimals with an optional sign (``3``, ``-1.5``, ``+.5``),
    exponents (``1e-3``, ``-2E+2``), fractions of two such numbers (``1/9``, ``-1/8``),
    surrounding whitespace, the unicode minus (``−1``) and a decimal comma (``0,5``).

    Parameters
    ----------
    text : str
        What was typed.

    Returns
    -------
    float
        The value; ``-0`` is returned as ``0.0``.

    Raises
    ------
    ValueError
        With a message meant for the person who typed it (it says what is accepted): for
        anything that is not such a number, ``nan``/``inf``, a zero denominator, or a value
        beyond ±1e6.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"empty value: {_HINT}")
    normal = stripped.translate(_MINUS_SIGNS)
    if "," in normal:
        if "." in normal:
            raise ValueError(f"{_quote(stripped)} mixes ',' and '.': {_HINT}")
        normal = normal.replace(",", ".")
    if _NON_FINITE.fullmatch(normal):
        raise ValueError(f"{_quote(stripped)} is not allowed: kernel values must be finite")
    match = _NUMBER.fullmatch(normal)
    if match is None:
        raise ValueError(f"{_quote(stripped)} is not a number: {_HINT}")
    value = float(match["num"])
    if match["den"] is not None:
        denominator = float(match["den"])
        if denominator == 0:
            raise ValueError(f"{_quote(stripped)} divides by zero: {_HINT}")
        value /= denominator
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"{_quote(stripped)} is too large: kernel values are limited to ±1e6")
    return value + 0.0  # turns -0.0 into 0.0 so a cell never shows "-0"


def _format(v: float, digits: int) -> str:
    magnitude = abs(v)
    if magnitude < 1e-3 or magnitude >= MAX_MAGNITUDE:
        mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"  # 1e-4 and 1e6, not 1e-04 and 1e+06
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_number(v: float, digits: int = 3, max_chars: int | None = None) -> str:
    """Short display form of a kernel value.

    Plain decimals with ``digits`` significant digits (``0.111``, ``-1``, ``0.5``, ``0.0625``,
    ``123``); scientific notation below 1e-3 and from 1e6 on (``1e-4``). Reading the
    result back with :func:`parse_number` gives the value to within ``digits`` significant
    digits.

    Parameters
    ----------
    v : float
        The value; nan and ±inf are shown as ``nan``, ``inf`` and ``-inf``.
    digits : int
        Significant digits, at least 1.
    max_chars : int or None
        If given, drop significant digits (down to 1) until the text is at most this long,
        so it fits a fixed-width cell.

    Returns
    -------
    str
    """
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    digits = max(1, digits)
    text = _format(v, digits)
    while max_chars is not None and len(text) > max_chars and digits > 1:
        digits -= 1
        text = _format(v, digits)
    return text


def short_number(v: SupportsFloat | str) -> str:
    """What fits on one pixel of a map: at most 5 characters and a sign.

    Used by paint code, so it never raises: ``nan``, ``inf`` and ``-inf`` are written as
    such, ``-0.0`` as ``0``, denormals and values up to float64's limit in scientific
    notation (``1e-45``, ``3e38``), and anything that is not a number as ``?``.
    """
    try:
        v = float(v)
    except (TypeError, ValueError, OverflowError):
        return "?"
    if not math.isfinite(v):
        return str(v)  # nan, inf, -inf
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        for digits in (1, 0):  # 1.5e5 rather than 2e5, when it fits
            mantissa, exponent = f"{v:.{digits}e}".split("e")
            if "." in mantissa:
                mantissa = mantissa.rstrip("0").rstrip(".")
            text = f"{mantissa}e{int(exponent)}"  # 1e30 and 2e-5, not 1e+30 and 2e-05
            if len(text.lstrip("-")) <= 5:
                break
        return text
    digits = 3 if a < 10 else 2 if a < 100 else 1 if a < 1000 else 0
    text = f"{v:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
