"""How maps are scaled to colours: a policy, so nothing flickers while someone paints.

Signed maps use symmetric levels (-m, m) around zero on a diverging colour map, so zero
is always the same neutral colour. ``m`` is a "nice" number (1, 1.5, 2, 2.5, 3, 4, 5,
6 or 8 x 10^k) at or above the largest magnitude, and it only changes when the data
leaves the band
[m / 3, m]: small edits never rescale the colours. While a gesture is under way (a
brush stroke, a dragged or wheeled kernel value) the levels may grow but not shrink, so
the colours do not jump under the pointer; they shrink to fit when the gesture ends.
"""

from __future__ import annotations

import math

import numpy as np

_NICE = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceil(value: float) -> float:
    """The smallest nice number (see module doc) >= value (1 for zero or non-finite)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    base = 10.0**exp
    for n in _NICE:
        if n * base >= value * (1 - 1e-9):
            return n * base
    return 10.0 * base


def max_abs(a: np.ndarray) -> float:
    """The largest finite magnitude in ``a`` (0 when there is none): values beyond
    float32 (inf, NaN) are drawn in a colour of their own, not on the scale."""
    return magnitude(a)[0]


def magnitude(a: np.ndarray) -> tuple[float, bool]:
    """:func:`max_abs` of ``a``, and whether every value of ``a`` is finite (one pass
    tells both: a NaN or an infinity makes the largest or the smallest value so)."""
    if a.size == 0:
        return 0.0, True
    largest = max(abs(float(a.max())), abs(float(a.min())))
    if math.isfinite(largest):
        return largest, True
    finite = a[np.isfinite(a)]
    return (float(np.abs(finite).max()) if finite.size else 0.0), False


class SymmetricLevels:
    """Stable symmetric levels for one signed map (or a group sharing one scale)."""

    def __init__(self) -> None:
        self.limit: float | None = None

    def update(self, magnitude: float, shrink: bool = True) -> tuple[float, float]:
        """Levels (-m, m) for data whose largest magnitude is ``magnitude``.

        With ``shrink`` False (during a gesture) the levels only grow.
        """
        if magnitude <= 0 or not math.isfinite(magnitude):
            magnitude = 0.0
        too_wide = shrink and magnitude < self.limit / 3 if self.limit is not None else False
        if self.limit is None or magnitude > self.limit or too_wide:
            self.limit = nice_ceil(magnitude) if magnitude > 0 else (self.limit or 1.0)
        return (-self.limit, self.limit)

    def reset(self) -> None:
        self.limit = None


def input_levels(a: np.ndarray) -> tuple[float, float]:
    """Levels for an input channel: [0, 1] for image-like data, else its nice range."""
    if a.size == 0:
        return (0.0, 1.0)
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0 and hi <= 1:
        return (0.0, 1.0)
    low = 0.0 if lo >= 0 else -nice_ceil(-lo)
    return (low, nice_ceil(hi) if hi > 0 else 1.0)
