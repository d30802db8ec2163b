"""The map panels' base (:class:`MapPanel`) and the input panel: the channels, paintable.
The selected filter's sum and all filters' maps are in :mod:`convviz.qt.maps.filter_panels`.

Each panel is one pyqtgraph canvas that lays out :class:`MapCell` s and rebuilds them only
when the number of maps changes. Panels get a :class:`~convviz.core.frames.Frame` and
never read the model.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from convviz.qt.base.map_image import MapImageItem
from convviz.qt.base.views import (
    MapCell,
    tint_colormap,
)

BACKGROUND = "#1e1f22"
# Smallest side of a map's view, in pixels: a map stays at least 48 pixels on its shorter
# side (the view pads the image by 2 % each way; an input view widens to show padding).
# Panels ask for it for up to `MIN_MAPS_KEPT` maps; beyond, their maps share the room.
MIN_MAP, MIN_MAPS_KEPT = 56, 4
# Titles of the input channels and of the filter strip, in lines.
INPUT_TITLE_LINES = 2


def best_columns(n: int, aspect: float, width: float, height: float, title: float) -> int:
    """Columns that make `n` maps of height/width `aspect` largest in `width` × `height`
    pixels, each under a title `title` pixels high; the fewest when it is a tie."""
    best, choice = -1.0, 1
    for cols in range(1, n + 1):
        rows = -(-n // cols)
        side = min(width / cols - 10, (height / rows - title - 18) / aspect)
        if side > best + 1:  # more columns only for a real gain
            best, choice = side, cols
    return choice


def grid_minimum(n: int, title: float, columns: int) -> QtCore.QSize:
    """Size in which a grid of `n` maps (at most `MIN_MAPS_KEPT` counted) in at most
    `columns` columns keeps them at `MIN_MAP`."""
    kept = min(max(n, 1), MIN_MAPS_KEPT)
    cols = min(kept, columns)
    rows = -(-kept // cols)
    return QtCore.QSize(cols * (MIN_MAP + 10) + 24, math.ceil(rows * (MIN_MAP + title + 18)) + 24)


def set_label(label: pg.LabelItem, text: str, **style) -> None:
    """Set a label's rich text only when it changes: laying it out costs a millisecond."""
    key = (text, tuple(sorted(style.items())))
    if getattr(label, "_shown", None) != key:
        label._shown = key
        label.setText(text, **style)


def equal_columns(layout: pg.GraphicsLayout, columns) -> None:
    """Give image columns equal shares so every map is drawn at the same size."""
    for c in columns:
        layout.layout.setColumnStretchFactor(c, 1)


class PaintImageItem(MapImageItem):
    """An input channel the user paints on: press, drag, release = one stroke."""

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            p = (ev.pos().y(), ev.pos().x())
            self.cell.panel.strokeStarted.emit(self.cell.index, *p)
            self.cell.panel.strokeFinished.emit()
            ev.accept()

    def mouseDragEvent(self, ev):
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        panel = self.cell.panel
        if ev.isStart():
            start = ev.buttonDownPos()
            panel.strokeStarted.emit(self.cell.index, start.y(), start.x())
        # pyqtgraph drops move events under load: the controller joins the points.
        panel.strokeMoved.emit(ev.pos().y(), ev.pos().x())
        if ev.isFinish():
            panel.strokeFinished.emit()


class MapPanel(pg.GraphicsLayoutWidget):
    """Base: a canvas of cells with shared hover reporting."""

    hovered = QtCore.Signal(str)
    # Any cell's pixel under the mouse / clicked: (cell, row, col); row -1 when leaving.
    pixelHovered = QtCore.Signal(object, int, int)
    pixelClicked = QtCore.Signal(object, int, int)
    # The cells were rebuilt for a new size, outside a frame: overlays must be redrawn.
    rebuilt = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.cells: list[MapCell] = []
        self._key = None
        # Presenter scale for titles and labels; a change takes effect on the next rebuild.
        self.scale = 1.0

    def pt(self, size: float) -> str:
        """A font size in points, scaled for the projector."""
        return f"{size * self.scale:.0f}pt"

    @property
    def title_size(self) -> str:
        return self.pt(11)

    def title_line(self) -> float:
        """Height in pixels of one line of a map title."""
        font = QtGui.QFont(self.font())
        font.setPointSizeF(11 * self.scale)
        return QtGui.QFontMetricsF(font).lineSpacing()

    def minimumSizeHint(self) -> QtCore.QSize:
        # What the cells need at their smallest: pyqtgraph's scene layout does not tell the
        # widget, and splitters and docks would squeeze the maps away.
        hint = self.ci.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize)
        return QtCore.QSize(math.ceil(hint.width()) + 4, math.ceil(hint.height()) + 4)

    def _new_cell(
        self, row, col, index, *, colorbar=False, item_class=MapImageItem, layout=None
    ) -> MapCell:
        cell = MapCell(
            self.ci if layout is None else layout,
            row,
            col,
            colorbar=colorbar,
            title_size=self.title_size,
            item_class=item_class,
        )
        cell.index = index
        cell.panel = self
        cell.hovered.connect(self._on_hover)
        cell.hovered.connect(self.pixelHovered)
        cell.clicked.connect(self.pixelClicked)
        self.cells.append(cell)
        return cell

    def _clear(self) -> None:
        self.ci.clear()
        self.cells = []

    def _on_hover(self, cell, row, col):
        if row < 0 or cell.data is None:
            self.hovered.emit("")
            return
        value = cell.data[row, col]
        text = ", ".join(f"{v:.4g}" for v in np.atleast_1d(value))
        self.hovered.emit(f"{cell.name} at (row {row}, col {col}): {text}")


class InputPanel(MapPanel):
    """Every input channel as its own paintable image, plus a colour composite for RGB."""

    strokeStarted = QtCore.Signal(int, float, float)  # channel (-1 = all), row, col
    strokeMoved = QtCore.Signal(float, float)
    strokeFinished = QtCore.Signal()

    _shown = None  # the last show_input's arguments, shown again when the columns change
    # Columns the minimum size allows for: one (a narrow, tall column), or more for a
    # panel that shares its column with another (the network's input above a layer's).
    min_columns = 1

    def _columns(self, n: int, aspect: float) -> int:
        line = self.title_line() * INPUT_TITLE_LINES
        return best_columns(n, aspect, self.width() - 24, self.height() - 24, line)

    def _maps(self) -> int:
        """How many images: the channels, and the colour composite of a network's RGB input."""
        c, layer = self._shown[0].shape[2], self._shown[3]
        return c + (c == 3 and not layer)

    def minimumSizeHint(self) -> QtCore.QSize:
        if self._shown is None:
            return super().minimumSizeHint()
        # One column: the input column is narrow and tall.
        lines = self.title_line() * INPUT_TITLE_LINES
        return grid_minimum(self._maps(), lines, self.min_columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._shown is not None and self._layout_key() != self._key:
            image, names, levels, layer = self._shown
            self.show_input(image, names, levels, layer=layer)
            self.rebuilt.emit()

    def _layout_key(self) -> tuple:
        image, names = self._shown[0], self._shown[1]
        h, w, c = image.shape
        return (tuple(names), c, self._columns(self._maps(), h / w if w else 1.0), self._shown[3])

    def show_input(
        self, image: np.ndarray, names, levels, box=None, channels=None, *, layer: int = 0
    ) -> None:
        """Show the channels; `box` (rows, cols slices), when given, holds every change,
        and `channels`, when given too, are the only channels that changed. ``layer`` (from
        0) is the layer that reads them: beyond the first, they are what the layers
        before it made (no brush paints there)."""
        c = image.shape[2]
        first = self._shown is None or self._shown[0].shape[2] != c
        if box is None or self._shown is None or tuple(self._shown[2]) != tuple(levels):
            channels = None  # a new scale recolours every channel
        self._shown = (image, names, levels, layer)
        key = self._layout_key()
        if key != self._key:
            self._clear()
            cols = key[2]
            box = channels = None
            for i in range(c):
                cell = self._new_cell(2 * (i // cols), i % cols, i, item_class=PaintImageItem)
                cell.name = f"input channel {names[i]}"
                where = f"= channel {i + 1} of layer {layer + 1}" if layer else f"channel {i + 1}"
                cell.set_title(f"<b>{html.escape(names[i])}</b><br>{where}")
                cell.cmap = tint_colormap(names[i])
            if self._maps() > c:
                i = 3
                cell = self._new_cell(2 * (i // cols), i % cols, -1, item_class=PaintImageItem)
                cell.name = "colour composite"
                cell.set_title("composite<br>(paints all)")
                cell.cmap = None
            equal_columns(self.ci, range(cols))
            self._key = key
            if first:
                self.updateGeometry()  # the minimum follows the number of maps
        for cell in self.cells:
            # The composite is the input itself, coloured per channel with the same levels.
            if channels is not None and cell.index not in channels and cell.index >= 0:
                continue  # not painted: the same pixels
            data = image if cell.index < 0 else image[:, :, cell.index]
            cell.set_image(data, levels, cell.cmap, box)
