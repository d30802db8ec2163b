"""Handwritten-style digits 0–9, drawn by convviz itself: the data the example network
learns from (``convviz.core.trained_example``).

Each digit is a few pen strokes in a 28×28 box (white on black, like MNIST and the
``digit`` sample). Every drawing moves them by a random slant, rotation, scale, shift and
pen width, and a slight wobble, so no two samples are alike; the same seed always draws
the same set. Pure numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SIDE = 28
CLASSES = 10


def _arc(
    cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 40
) -> npt.NDArray[np.float64]:
    """Points of an elliptic arc; angles in degrees, 0 = right, 90 = down (y grows down)."""
    t = np.radians(np.linspace(start, stop, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*points: tuple[float, float]) -> npt.NDArray[np.float64]:
    return np.asarray(points, dtype=np.float64)


# Pen strokes per digit, (x, y) in pixels of the 28×28 box.
STROKES = {
    0: [_arc(14, 14, 5.5, 8.5, 0, 360, 64)],
    1: [_line((10.5, 8.5), (14.5, 5)), _line((14.5, 5), (14.5, 23))],
    2: [
        np.concatenate([_arc(14, 10, 5, 4.8, 195, 370), _line((18.6, 12.5), (9, 23))]),
        _line((9, 23), (20, 23)),
    ],
    3: [_arc(13.5, 9.3, 4.8, 4.3, 200, 450), _arc(13.5, 18, 5.6, 5, 270, 520)],
    4: [_line((17, 23), (17, 5), (8, 17.5), (20.5, 17.5))],
    5: [
        _line((19, 5), (10.5, 5), (9.8, 12.6)),
        _arc(13.8, 17.2, 5.6, 5.6, 220, 495),
    ],
    6: [
        np.concatenate([_line((18, 5.5)), _arc(16, 17.5, 7.2, 12, 253, 180, 24)]),
        _arc(14, 18, 5, 5, 180, 540),
    ],
    7: [_line((8, 5), (20, 5), (12.5, 23))],
    8: [_arc(14, 9.5, 4.3, 4.3, 0, 360, 48), _arc(14, 18.5, 5.2, 4.8, 0, 360, 56)],
    9: [_arc(14, 10, 4.8, 4.6, 0, 360, 56), _line((18.8, 10), (16.5, 23))],
}


def _resample(points: npt.NDArray[np.float64], step: float = 0.4) -> npt.NDArray[np.float64]:
    """Points along a polyline at most ``step`` apart, so distances to them are those to
    the line within a few hundredths of a pixel."""
    seg = np.diff(points, axis=0)
    counts = np.maximum(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step).astype(int), 1)
    parts = [
        points[i] + seg[i] * np.linspace(0, 1, n, endpoint=False)[:, None]
        for i, n in enumerate(counts)
    ]
    return np.concatenate([*parts, points[-1:]])


def draw_digit(digit: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """One randomly varied drawing of ``digit``: float32 (28, 28) in [0, 1]."""
    angle = np.radians(rng.uniform(-12, 12))
    slant = rng.uniform(-0.3, 0.3)
    sx, sy = rng.uniform(0.8, 1.1), rng.uniform(0.8, 1.1)
    shift = rng.uniform(-2.5, 2.5, 2)
    c, s = np.cos(angle), np.sin(angle)
    # Slant (x moves with height), then rotate and scale about the box's centre.
    matrix = (
        np.array([[c, -s], [s, c]]) @ np.array([[sx, 0], [0, sy]]) @ np.array([[1, -slant], [0, 1]])
    )
    radius = rng.uniform(1.0, 1.9)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE] + 0.5
    pixels = np.stack([xs.ravel(), ys.ravel()], axis=1)
    ink = np.zeros(SIDE * SIDE)
    for stroke in STROKES[digit]:
        points = _resample(stroke)
        # A slow wobble of the pen, the same along the stroke's neighbouring points.
        phase = rng.uniform(0, 2 * np.pi, 2)
        along = np.linspace(0, 1, len(points))[:, None]
        points = points + 0.5 * np.sin(2 * np.pi * along * rng.uniform(0.5, 1.5) + phase)
        points = (points - 14.0) @ matrix.T + 14.0 + shift
        d = np.sqrt(((pixels[:, None, :] - points[None, :, :]) ** 2).sum(-1)).min(axis=1)
        # Ink fades over about one pixel at the stroke's edge, as in the digit sample.
        ink = np.maximum(ink, np.clip((radius - d) / 1.1 + 0.5, 0.0, 1.0))
    ink *= rng.uniform(0.8, 1.0)
    return ink.reshape(SIDE, SIDE).astype(np.float32)


def digit_set(count: int, seed: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``count`` digits, classes in turn 0, 1, …, 9, 0, …, drawn with ``seed``.

    Returns
    -------
    images : np.ndarray
        float32 (count, 28, 28, 1) in [0, 1].
    labels : np.ndarray
        int64 (count,).
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % CLASSES
    images = np.stack([draw_digit(int(d), rng) for d in labels])[..., None]
    return images, labels
