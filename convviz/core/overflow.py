"""Maps whose values exceed float32, named in words a teacher can act on.

float32 holds magnitudes up to about 3.4e38; beyond, a product or sum becomes ``inf``,
and ``inf - inf`` or ``0 * inf`` becomes NaN. Such values cannot be coloured on any scale:
the views draw them in their own colour, leave them out of the colour scale, and show
the sentence :func:`overflow_note` writes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np
import numpy.typing as npt

__all__ = ["FLOAT32_MAX", "OverflowWatch", "overflow_note"]

FLOAT32_MAX = float(np.finfo(np.float32).max)


def _numbers(word: str, numbers: list[int], total: int) -> str:
    if len(numbers) == 1:
        return f"{word} {numbers[0]}"
    if len(numbers) == total and total > 2:
        return f"every {word} (1–{total})"
    return f"{word}s " + ", ".join(map(str, numbers))


def _finite(a: np.ndarray) -> bool:
    """Whether every value is finite: two reductions, far cheaper than ``isfinite`` on
    maps that (nearly always) are; NaN and ±inf each make the max or the min non-finite."""
    return a.size == 0 or bool(np.isfinite(a.max()) and np.isfinite(a.min()))


def _bad(maps: np.ndarray) -> list[int]:
    """1-based indices along the last axis of the maps holding inf or NaN."""
    return [int(i) + 1 for i in np.flatnonzero(~np.isfinite(maps).all(axis=(0, 1)))]


def overflow_note(
    kernel_maps: np.ndarray,
    pre_activation: np.ndarray,
    feature_maps: np.ndarray,
    selected: int,
    activation: str = "linear",
) -> str | None:
    """Which maps hold inf or NaN and why, or None when every value is finite.

    Parameters
    ----------
    kernel_maps : numpy.ndarray
        ``(H', W', Cg)``: the selected filter's kernel maps.
    pre_activation, feature_maps : numpy.ndarray
        ``(H', W', filters)``.
    selected : int
        The selected filter (0-based): its pre-activation is the one shown.
    activation : str
        The layer's activation, named when it alone overflowed.

    Returns
    -------
    str or None
    """
    if _finite(kernel_maps) and _finite(pre_activation) and _finite(feature_maps):
        return None
    kernels = _bad(kernel_maps)
    pre = not np.isfinite(pre_activation[..., selected]).all()
    features = _bad(feature_maps)
    if not (kernels or pre or features):
        return None
    where = []
    if kernels:
        where.append(_numbers("kernel map", kernels, kernel_maps.shape[2]))
    if pre:
        where.append(f"pre-activation {selected + 1}")
    if features:
        where.append(_numbers("feature map", features, feature_maps.shape[2]))
    listed = where[0] if len(where) == 1 else ", ".join(where[:-1]) + " and " + where[-1]
    if kernels or not np.isfinite(pre_activation).all():
        why, fix = "kernel values × inputs", "kernel values or inputs"
    else:
        why, fix = f"the {activation} activation", "kernel values or inputs, or another activation"
    return (
        f"Values exceed float32 in {listed} (drawn black, not on the colour scale): {why} "
        f"pass its largest number, 3.4e38. Use smaller {fix}."
    )


class OverflowWatch:
    """:func:`overflow_note` for a stream of frames, checking only what each changed.

    While every value is finite, a frame that changed only an output box, or only some
    filters, is checked there alone: the maps are large and nearly always finite. Any
    other frame, or one after an overflow, is checked whole.
    """

    def __init__(self) -> None:
        self.clean = False  # the last frame checked held no inf or NaN

    def update(
        self,
        kernel_maps: npt.NDArray[np.float32],
        pre_activation: npt.NDArray[np.float32],
        feature_maps: npt.NDArray[np.float32],
        selected: int,
        activation: str = "linear",
        box: tuple[slice, slice] | None = None,
        filters: Collection[int] | None = None,
        kernel_map_channels: Iterable[int] | None = None,
    ) -> str | None:
        """The note for these maps; ``box`` (rows, cols) or ``filters`` (indices), when
        given, promise that nothing else changed since the previous call, and so do
        ``kernel_map_channels`` for the selected filter's kernel maps."""
        if self.clean and box is not None:
            parts = [kernel_maps[box], pre_activation[box], feature_maps[box]]
        elif self.clean and filters is not None:
            picked = sorted(filters)
            parts = [pre_activation[..., picked], feature_maps[..., picked]]
            if selected in filters and kernel_map_channels is None:
                parts.append(kernel_maps)
            elif selected in filters:
                assert kernel_map_channels is not None  # the branch above took None
                parts += [kernel_maps[..., c] for c in kernel_map_channels]
        else:
            parts = None
        if parts is not None and all(_finite(p) for p in parts):
            return None
        note = overflow_note(kernel_maps, pre_activation, feature_maps, selected, activation)
        self.clean = note is None
        return note
