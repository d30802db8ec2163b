"""Kernel presets: the classic image-processing kernels and Keras' default initializer.

Every preset is defined for any kernel size from 1x1 to 11x11 (rectangular too): the
3x3 textbook kernels are centred in larger kernels and cropped in smaller ones, while
box blur, Gaussian and Sobel are built for the requested size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

KERNEL_PRESETS = (
    "identity",
    "box blur",
    "gaussian",
    "sharpen",
    "sobel x",
    "sobel y",
    "laplacian",
    "emboss",
    "random (glorot uniform)",
    "zeros",
)

_TEXTBOOK_3X3 = {
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def canonical_preset(name: str) -> str:
    """Map a user-typed preset name (any case, '-'/'_' for spaces, 'random') to its key."""
    key = " ".join(name.strip().lower().replace("_", " ").replace("-", " ").split())
    aliases = {
        "random": "random (glorot uniform)",
        "glorot": "random (glorot uniform)",
        "glorot uniform": "random (glorot uniform)",
        "box": "box blur",
        "blur": "box blur",
        "sobelx": "sobel x",
        "sobely": "sobel y",
        "gauss": "gaussian",
    }
    key = aliases.get(key, key)
    if key not in KERNEL_PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(KERNEL_PRESETS)}")
    return key


def _binomial(n: int) -> npt.NDArray[np.float64]:
    row = np.array([1.0])
    for _ in range(n - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row


def _derivative(n: int) -> npt.NDArray[np.float64]:
    # A smoothed central difference of length n: [-1, 0, 1] for 3, [-1, 1] for 2.
    # Positive where values grow towards the right/bottom, as in the textbook Sobel.
    if n == 1:
        return np.zeros(1)
    return -np.convolve(_binomial(n - 1), [1.0, -1.0]) + 0.0


def centred(small: npt.NDArray[np.floating[Any]], kh: int, kw: int) -> npt.NDArray[np.float32]:
    """``small`` (kh0, kw0, ...) placed in the middle of a zero (kh, kw, ...) array.

    Cropped when smaller; for even sizes the centre is the lower-right of the middle four.
    """
    out = np.zeros((kh, kw) + small.shape[2:], dtype=np.float32)
    sh, sw = small.shape[:2]
    oy, ox = kh // 2 - sh // 2, kw // 2 - sw // 2
    rows = slice(max(oy, 0), min(oy + sh, kh))
    cols = slice(max(ox, 0), min(ox + sw, kw))
    out[rows, cols] = small[rows.start - oy : rows.stop - oy, cols.start - ox : cols.stop - ox]
    return out


def glorot_limit(kh: int, kw: int, in_channels: int, filters: int) -> float:
    """The bound of Keras' ``glorot_uniform`` for a Conv2D kernel.

    Keras uses fan_in = kh*kw*C_in and fan_out = kh*kw*filters.
    """
    fan_in = kh * kw * in_channels
    fan_out = kh * kw * filters
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def glorot_uniform(
    shape: tuple[int, int, int, int], rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Random kernel tensor (kh, kw, C_in, filters) as Keras' default initializer draws it."""
    kh, kw, cin, filters = shape
    limit = glorot_limit(kh, kw, cin, filters)
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def make_kernel(name: str, kh: int, kw: int) -> npt.NDArray[np.float32]:
    """One kh x kw kernel for a deterministic preset (not 'random').

    Returns
    -------
    numpy.ndarray
        float32 array of shape (kh, kw).
    """
    key = canonical_preset(name)
    if key == "identity":
        k: npt.NDArray[np.floating[Any]] = centred(np.ones((1, 1)), kh, kw)
    elif key == "box blur":
        k = np.full((kh, kw), 1.0 / (kh * kw))
    elif key == "gaussian":
        k = np.outer(_binomial(kh), _binomial(kw))
        k /= k.sum()
    elif key == "sobel x":
        k = np.outer(_binomial(kh), _derivative(kw))
    elif key == "sobel y":
        k = np.outer(_derivative(kh), _binomial(kw))
    elif key in _TEXTBOOK_3X3:
        k = centred(np.array(_TEXTBOOK_3X3[key], dtype=float), kh, kw)
    elif key == "zeros":
        k = np.zeros((kh, kw))
    else:
        raise ValueError("the random preset needs a random generator: use filter_preset()")
    return k.astype(np.float32)


def filter_preset(
    name: str, kh: int, kw: int, channels: int, filters: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """All kernels of one filter: the preset on every input channel.

    ``filters`` only matters for the Glorot bound, which depends on the layer's width.

    Returns
    -------
    numpy.ndarray
        float32 array (kh, kw, channels).
    """
    if canonical_preset(name) == "random (glorot uniform)":
        return glorot_uniform((kh, kw, channels, filters), rng)[..., 0]
    k = make_kernel(name, kh, kw)
    return np.repeat(k[:, :, None], channels, axis=2)
