"""Decoding image files (PNG, JPEG, BMP, GIF, WebP) into integer pixels, with Pillow.

Only the listed decoders run, the size in the header is checked before any pixel is
decoded, and a JPEG due to be downscaled is decoded at a reduced size. What the pixels
become (float32, divided by full intensity) is up to :mod:`convviz.io.inputs`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from convviz.io._checks import MAX_PIXELS, InputError, check_size
from convviz.io._resample import fit_within

# Only these decoders may run, whatever a file's bytes claim to be: fewer
# rarely used parsers exposed to hostile data.
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_GREY_MODES = ("1", "L", "LA")


def _read_image(
    path: Path, label: str, keep_alpha: bool, max_side: int | None
) -> tuple[np.ndarray, tuple[str, ...], float, tuple[int, int]]:
    """Decode an image.

    Returns (H, W, C) integer pixels, channel names, the value of full
    intensity and the upright (height, width) of the whole image: a JPEG due
    to be downscaled is decoded directly at a reduced size.
    """
    with warnings.catch_warnings():
        # Pillow's own bomb limit is looser than _check_size, which runs next.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=_PIL_FORMATS)
        except Image.DecompressionBombError:
            raise InputError(
                f"{label}: the image is too large: its header declares more than "
                f"{MAX_PIXELS:,} pixels, the most convviz accepts"
            ) from None
        except UnidentifiedImageError:
            raise InputError(
                f"{label}: this is not an image convviz can read (not a valid PNG, JPEG, "
                "BMP, GIF or WebP file)"
            ) from None
    with image:
        w, h = image.size
        check_size(h, w, len(image.getbands()), label)
        if max_side is not None and max(h, w) > max_side:
            # JPEG can decode at 1/2, 1/4 or 1/8 scale, never below the target
            # size: much faster and smaller for big photos. Other formats ignore it.
            image.draft(None, fit_within(h, w, max_side)[::-1])
        image.load()
        decoded_size = image.size
        ImageOps.exif_transpose(image, in_place=True)
        if image.size != decoded_size:  # turned a quarter: width and height swap
            h, w = w, h
        alpha = keep_alpha and ("A" in image.getbands() or "transparency" in image.info)
        if image.mode in _SIXTEEN_BIT_MODES:
            grey = np.asarray(image)
            if image.mode == "I":  # older Pillow opens 16-bit grey PNGs as 32-bit "I"
                grey = np.clip(grey, 0, 65535)
            planes = [grey.astype(np.uint16, copy=False)]
            if alpha:
                planes.append(np.where(grey == image.info["transparency"], 0, 65535))
            pixels = np.stack(planes, axis=-1).astype(np.uint16, copy=False)
            return pixels, ("grey", "A")[: len(planes)], 65535.0, (h, w)
        is_grey = image.mode in _GREY_MODES
        target = ("LA" if alpha else "L") if is_grey else ("RGBA" if alpha else "RGB")
        converted = image if image.mode == target else image.convert(target)
        pixels = np.asarray(converted)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    names = ("grey", "A") if is_grey else ("R", "G", "B", "A")
    return pixels, names[: pixels.shape[2]], 255.0, (h, w)
