"""The built-in sample inputs.

Each sample is drawn procedurally here (pure numpy, no randomness, so the
result never changes), written once as a PNG into ``resources/samples/`` and
loaded from that file at run time, exactly like a user's image. The test suite
checks that every shipped PNG equals :func:`make_sample` to 8-bit rounding;
regenerate them with ``python -m convviz.io.samples``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from PIL import Image

from convviz.core.resources import resource_dir
from convviz.io.inputs import InputError, LoadedInput, read_input

SAMPLES = MappingProxyType(
    {
        "digit": "A handwritten 3, 28×28 grey, white on black like MNIST",
        "colour": "Red disc, green bar and blue triangle, 64×64 colour: each channel differs",
        "checkerboard": "Checkerboard of 4-pixel squares, 32×32 grey",
        "gradient": "Horizontal ramp from black to white, 32×32 grey",
    }
)
_ALIASES = {"color": "colour"}

# The "3" as cubic Bezier segments (x, y in 28-pixel units, y down). The
# control points were placed by hand, slightly uneven, like a quick pen stroke.
_DIGIT_STROKE = (
    ((8.9, 8.9), (9.6, 4.9), (16.4, 3.2), (18.0, 7.4)),
    ((18.0, 7.4), (19.1, 10.6), (15.2, 12.9), (11.6, 13.8)),
    ((11.6, 13.8), (17.3, 13.0), (20.6, 16.6), (19.1, 20.3)),
    ((19.1, 20.3), (17.6, 23.9), (11.9, 24.6), (7.3, 21.2)),
)
# The writer leans forward: x shifts right by this much per pixel upwards.
_DIGIT_SLANT = 0.14


def _canonical(name: str) -> str:
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SAMPLES:
        raise InputError(f"unknown sample {name!r}; the samples are: {', '.join(SAMPLES)}")
    return key


def _grid(h: int, w: int, oversample: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel centres (y, x), in output pixel units, for anti-aliasing."""
    ys = (np.arange(h * oversample) + 0.5) / oversample
    xs = (np.arange(w * oversample) + 0.5) / oversample
    return np.meshgrid(ys, xs, indexing="ij")


def _average_blocks(a: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    h, w = a.shape[0] // k, a.shape[1] // k
    averaged: npt.NDArray[np.float64] = a.reshape(h, k, w, k, *a.shape[2:]).mean(axis=(1, 3))
    return averaged


def _digit() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 48)[:, None]
    points, along = [], []
    for i, (p0, p1, p2, p3) in enumerate(np.asarray(_DIGIT_STROKE)):
        points.append(
            (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
        )
        along.append((i + t[:, 0]) / len(_DIGIT_STROKE))
    stroke, s = np.concatenate(points), np.concatenate(along)
    stroke[:, 0] += _DIGIT_SLANT * (14.0 - stroke[:, 1])
    # Pen pressure: the width wavers along the stroke and tapers where the pen
    # lands and lifts.
    radius = 1.5 + 0.2 * np.sin(9.0 * s + 0.7) + 0.12 * np.sin(23.0 * s)
    radius *= np.minimum(1.0, 0.55 + 6.0 * np.minimum(s, 1.0 - s))
    y, x = _grid(28, 28, 4)
    dist = np.hypot(y[..., None] - stroke[:, 1], x[..., None] - stroke[:, 0])
    # Ink fades over about one pixel at the stroke's edge, as in MNIST scans.
    ink = np.clip((radius - dist) / 1.1 + 0.5, 0.0, 1.0).max(axis=-1)
    return _average_blocks(ink, 4)[:, :, None]


def _colour() -> np.ndarray:
    y, x = _grid(64, 64, 4)
    disc = np.hypot(y - 26.0, x - 24.0) < 16.0
    bar = (np.abs(y - 42.0) < 5.5) & (x > 6.0) & (x < 60.0)
    corners = np.array([(44.0, 5.0), (59.0, 45.0), (27.0, 36.0)])  # (x, y)
    triangle = np.ones_like(disc)
    for (x0, y0), (x1, y1) in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        triangle &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0
    scene = np.full((*disc.shape, 3), (0.06, 0.06, 0.10))
    # Overlaps mix like coloured lights (channel-wise maximum), so each
    # channel shows mostly one shape.
    for mask, colour in ((disc, (0.92, 0.18, 0.12)), (bar, (0.15, 0.80, 0.25))):
        scene = np.maximum(scene, mask[..., None] * np.asarray(colour))
    scene = np.maximum(scene, triangle[..., None] * np.asarray((0.20, 0.35, 0.95)))
    return _average_blocks(scene, 4)


def _checkerboard() -> np.ndarray:
    y, x = np.indices((32, 32))
    return ((y // 4 + x // 4) % 2).astype(np.float64)[:, :, None]


def _gradient() -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, 32), (32, 1))[:, :, None]


_MAKERS = {
    "digit": _digit,
    "colour": _colour,
    "checkerboard": _checkerboard,
    "gradient": _gradient,
}


def make_sample(name: str) -> np.ndarray:
    """Draw a sample procedurally.

    Parameters
    ----------
    name : str
        A key of ``SAMPLES`` (or ``"color"``).

    Returns
    -------
    np.ndarray
        float32, (H, W, C) with values in [0, 1].

    Raises
    ------
    InputError
        For an unknown name; the message lists the valid ones.
    """
    return np.ascontiguousarray(_MAKERS[_canonical(name)](), dtype=np.float32)


def sample_path(name: str) -> Path:
    """The shipped PNG file of a sample (see ``make_sample`` for ``name``)."""
    return resource_dir() / "samples" / f"{_canonical(name)}.png"


def load_sample(name: str) -> LoadedInput:
    """Load a shipped sample the way a user's file is loaded.

    Channel names are ``("R", "G", "B")`` for ``colour`` and ``("grey",)``
    for the others.

    Raises
    ------
    InputError
        For an unknown name, or when the shipped file is missing or damaged.
    """
    return read_input(sample_path(name), max_side=None)


def write_samples(folder: Path | None = None) -> list[Path]:
    """Write every sample as an 8-bit PNG into ``folder`` (default: the shipped one)."""
    folder = resource_dir() / "samples" if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SAMPLES:
        pixels = np.round(make_sample(name) * 255.0).astype(np.uint8)
        path = folder / f"{name}.png"
        # Two axes make an "L" image, three channels an "RGB" one.
        Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(path)
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_samples(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written_path)
