"""The diverging colour maps a signed map can be drawn with; zero is white in each.

Every signed map, kernel cell, figure and animation frame takes its colours from the map
chosen with :func:`convviz.qt.base.views.set_diverging`. Each map is exactly white on a
narrow band around zero (±0.5 % of the scale, which covers the lookup table's middle
entries), so a value of 0 reads as "nothing" whatever the scale; and none reaches black
or the neutral grey, which stand for values beyond float32 and for pixels not computed
yet (:data:`convviz.qt.base.map_image.OVERFLOW`, :data:`~convviz.qt.base.map_image.PENDING`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

__all__ = ["COLOUR_MAPS", "DEFAULT", "RENAMED", "make_colormap"]

WHITE = (255, 255, 255)
_PLATEAU = 0.005

# From the most negative value (0) to the most positive (1).
_STOPS = {
    # ColorBrewer RdBu, 9 classes, its near-white centre made white.
    "blue-white-red": [
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        WHITE,
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
    ],
    # Saturated ends and steep sides, for washed-out projectors.
    "high-contrast": [(20, 60, 230), (60, 140, 255), WHITE, (255, 120, 40), (220, 0, 0)],
}

COLOUR_MAPS = {
    "blue-white-red": "blue–white–red (default)",
    "colour-blind": "colour-blind safe (blue–white–yellow)",
    "high-contrast": "high contrast (strong blue–white–red)",
}
"""Name -> menu text of every colour map offered."""

DEFAULT = "blue-white-red"

RENAMED = {"CET-D1A": "blue-white-red", "CET-CBD1": "colour-blind", "CET-D4": "high-contrast"}
"""The names these maps had when they were Colorcet's own, as other code may still say."""


def _with_white_plateau(pos: np.ndarray, rgb: np.ndarray) -> pg.ColorMap:
    """Stops ``pos`` (ascending, 0 to 1) and their colours, exactly white near 0.5."""
    keep = np.abs(pos - 0.5) > _PLATEAU
    pos = np.concatenate([pos[keep], [0.5 - _PLATEAU, 0.5 + _PLATEAU]])
    rgb = np.concatenate([rgb[keep], [WHITE, WHITE]])
    order = np.argsort(pos, kind="stable")
    return pos[order], rgb[order]


def _whitened(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A Colorcet map lightened towards white at its centre, untouched at its ends."""
    base = pg.colormap.get(name)
    pos = np.linspace(0.0, 1.0, 65)
    rgb = base.map(pos, mode="float")[:, :3]
    weight = np.clip(1.0 - np.abs(pos - 0.5) / 0.5, 0.0, 1.0)[:, None]
    centre = base.map(np.array([0.5]), mode="float")[0, :3]
    rgb = np.clip(rgb + weight * (1.0 - centre), 0.0, 1.0) * 255
    return pos, rgb


def make_colormap(name: str) -> pg.ColorMap:
    """The colour map called ``name`` (a key of :data:`COLOUR_MAPS`).

    Raises
    ------
    KeyError
        For any other name.
    """
    if name not in COLOUR_MAPS:
        raise KeyError(f"unknown colour map {name!r}; the maps are {', '.join(COLOUR_MAPS)}")
    if name == "colour-blind":  # Colorcet's CBD1, for protanopes and deuteranopes
        pos, rgb = _whitened("CET-CBD1")
    else:
        stops = _STOPS[name]
        pos, rgb = np.linspace(0.0, 1.0, len(stops)), np.array(stops, float)
    pos, rgb = _with_white_plateau(pos, rgb)
    cmap = pg.ColorMap(pos, np.round(rgb).astype(np.uint8))
    cmap.name = name
    return cmap


def readable_text(bg: QColor) -> QColor:
    """Black or white, whichever contrasts more with ``bg`` (WCAG relative luminance)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * linear(bg.redF()) + 0.7152 * linear(bg.greenF()) + 0.0722 * linear(bg.blueF())
    # Contrast with black is (lum+0.05)/0.05, with white 1.05/(lum+0.05); equal at ~0.179.
    return QColor(0, 0, 0) if lum > 0.179 else QColor(255, 255, 255)
