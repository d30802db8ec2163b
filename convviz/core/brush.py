"""Brush strokes on an input channel, continuous however fast the mouse moves.

Pixel (r, c) covers [c, c+1) x [r, r+1) in image coordinates, so its centre is
(r + 0.5, c + 0.5). A segment paints every pixel whose centre lies within ``radius`` of
the segment: a capsule, so consecutive segments join without gaps even when the GUI
drops mouse-move events.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Point = tuple[float, float]  # (row, col)


def segment_box(
    shape: tuple[int, ...], p0: Point, p1: Point, radius: float
) -> tuple[slice, slice] | None:
    """The (rows, cols) slices a segment can touch, clipped to ``shape``; None if outside."""
    h, w = shape[:2]
    (r0, c0), (r1, c1) = p0, p1
    top = max(int(np.floor(min(r0, r1) - radius - 0.5)), 0)
    bottom = min(int(np.ceil(max(r0, r1) + radius + 0.5)), h)
    left = max(int(np.floor(min(c0, c1) - radius - 0.5)), 0)
    right = min(int(np.ceil(max(c0, c1) + radius + 0.5)), w)
    if top >= bottom or left >= right:
        return None
    return slice(top, bottom), slice(left, right)


def segment_mask(
    box: tuple[slice, slice], p0: Point, p1: Point, radius: float
) -> npt.NDArray[np.bool_]:
    """Boolean mask over ``box``: pixels whose centre is within ``radius`` of p0-p1."""
    rows = np.arange(box[0].start, box[0].stop) + 0.5
    cols = np.arange(box[1].start, box[1].stop) + 0.5
    pr, pc = np.meshgrid(rows, cols, indexing="ij")
    (r0, c0), (r1, c1) = p0, p1
    dr, dc = r1 - r0, c1 - c0
    length2 = dr * dr + dc * dc
    if length2 == 0:
        t = np.zeros_like(pr)
    else:
        t = np.clip(((pr - r0) * dr + (pc - c0) * dc) / length2, 0.0, 1.0)
    dist2 = (pr - (r0 + t * dr)) ** 2 + (pc - (c0 + t * dc)) ** 2
    # Half a pixel of slack so radius 0 still paints the pixel under the cursor.
    return dist2 <= max(radius, 0.5) ** 2


def paint_segment(
    image: F32, channels: Iterable[int], p0: Point, p1: Point, radius: float, value: float
) -> tuple[slice, slice] | None:
    """Paint ``value`` along the segment p0 -> p1 (points as (row, col) floats) in place.

    Parameters
    ----------
    image : (H, W, C) float32 array, modified in place.
    channels : sequence of channel indices to paint.

    Returns
    -------
    The box of pixels that may have changed, or None when the segment misses the image.
    """
    box = segment_box(image.shape, p0, p1, radius)
    if box is None:
        return None
    mask = segment_mask(box, p0, p1, radius)
    if not mask.any():
        return None
    region = image[box]
    for c in channels:
        region[..., c][mask] = value
    return box


class StrokeMemory:
    """What a stroke painted over, saved segment by segment as it goes.

    Saving the whole input when a stroke starts costs a copy of it (64 MB and 20 ms at
    1024x1024x16) for the few pixels a stroke touches; this saves each segment's box just
    before it is painted. Should the boxes add up to more than the input (a huge brush),
    the input as it was is rebuilt once and kept instead.
    """

    def __init__(self, image: F32) -> None:
        self.image = image
        self._saved: list[tuple[tuple[slice, slice], F32]] = []
        self._bytes = 0
        self._whole: F32 | None = None

    def before_painting(self, box: tuple[slice, slice] | None) -> None:
        """Remember the values in ``box``, which the next segment may paint over."""
        if box is None or self._whole is not None:
            return
        values = self.image[box].copy()
        self._saved.append((box, values))
        self._bytes += values.nbytes
        if self._bytes > self.image.nbytes:
            h, w = self.image.shape[:2]
            self._whole = self.original((slice(0, h), slice(0, w)))
            self._saved.clear()

    def original(self, box: tuple[slice, slice]) -> F32:
        """The values inside ``box`` as they were before the stroke (a new array)."""
        if self._whole is not None:
            return self._whole[box].copy()
        out = self.image[box].copy()
        # Newest first, so that where segments overlap the oldest saved value wins.
        for saved_box, values in reversed(self._saved):
            rows, cols = (_overlap(saved_box[a], box[a]) for a in (0, 1))
            if rows is None or cols is None:
                continue
            (r0, r1), (c0, c1) = rows, cols
            out[r0 - box[0].start : r1 - box[0].start, c0 - box[1].start : c1 - box[1].start] = (
                values[
                    r0 - saved_box[0].start : r1 - saved_box[0].start,
                    c0 - saved_box[1].start : c1 - saved_box[1].start,
                ]
            )
        return out


def _overlap(a: slice, b: slice) -> tuple[int, int] | None:
    lo, hi = max(a.start, b.start), min(a.stop, b.stop)
    return (lo, hi) if lo < hi else None
