"""Graphics drawn over map cells: the receptive field, the pixel cursor, numbers on cells.

Each cell gets at most one `Overlay` and one `Numbers` item, created on first use and
kept on the cell; a panel that rebuilds its cells drops them with the old views.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.conv import conv_geometry, pad_input
from convviz.core.numbers import short_number
from convviz.qt.base.safe_paint import never_raises

HIGHLIGHT = QtGui.QColor("#ffd400")
GHOST = QtGui.QColor(200, 200, 200, 170)
# Cells drawn smaller than this many screen pixels get no numbers: they would not fit.
MIN_CELL_PX = 14


def _pen(color, width, dashed=False) -> QtGui.QPen:
    pen = QtGui.QPen(color, width)
    pen.setCosmetic(True)
    if dashed:
        pen.setStyle(QtCore.Qt.PenStyle.DashLine)
    return pen


class Overlay(QtWidgets.QGraphicsItem):
    """Outlined rectangles in image coordinates: solid, dashed, and a faint frame."""

    def __init__(self):
        super().__init__()
        self.solid: list[QtCore.QRectF] = []
        self.dashed: list[QtCore.QRectF] = []
        self.frame: QtCore.QRectF | None = None
        self.width = 2.0
        self.setZValue(20)

    def set_rects(self, solid, dashed=(), frame=None, width=2.0) -> None:
        if (list(solid), list(dashed), frame, width) == (
            self.solid,
            self.dashed,
            self.frame,
            self.width,
        ):
            return  # an unchanged outline must not make its view repaint
        self.prepareGeometryChange()
        self.solid, self.dashed = list(solid), list(dashed)
        self.frame, self.width = frame, width
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        rect = QtCore.QRectF()
        for r in [*self.solid, *self.dashed] + ([self.frame] if self.frame else []):
            rect = rect.united(r)
        return rect.adjusted(-1, -1, 1, 1)

    @never_raises
    def paint(self, painter, option, widget=None) -> None:
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        if self.frame is not None:
            painter.setPen(_pen(GHOST, 1, dashed=True))
            painter.drawRect(self.frame)
        # A dark halo under the yellow keeps the outline visible on light and dark pixels.
        for color, extra in ((QtGui.QColor(0, 0, 0, 200), 2), (HIGHLIGHT, 0)):
            painter.setPen(_pen(color, self.width + extra))
            painter.drawRects(self.solid)
            painter.setPen(_pen(color, self.width + extra, dashed=True))
            painter.drawRects(self.dashed)


def overlay_of(cell) -> Overlay:
    """The cell's overlay item, created on first use."""
    item = getattr(cell, "_inspect_overlay", None)
    if item is None:
        item = Overlay()
        cell.view.addItem(item, ignoreBounds=True)
        cell._inspect_overlay = item
    return item


def text_colours(values: np.ndarray, levels, cmap: pg.ColorMap | None) -> np.ndarray:
    """Black or white per value, whichever reads better on the colour it is drawn in."""
    lo, hi = levels
    t = np.clip(np.nan_to_num((values - lo) / ((hi - lo) or 1.0), nan=0.5), 0, 1)
    if cmap is None:
        rgb = np.stack([t] * 3, axis=-1)
    else:
        rgb = np.asarray(cmap.map(t.ravel(), mode="float"))[:, :3].reshape(t.shape + (3,))
    luminance = rgb @ np.array([0.2126, 0.7152, 0.0722])
    return (luminance > 0.45) & np.isfinite(values)  # inf and NaN are drawn black


class Numbers(QtWidgets.QGraphicsItem):
    """The value of every pixel written on it, sized to the pixel as drawn on screen.

    One item paints all numbers of a cell, far cheaper than an item per pixel. Text is
    drawn in device coordinates so it stays crisp at any zoom. Values at ``ghost``
    positions (padding around an input) are drawn in italic grey.
    """

    def __init__(self):
        super().__init__()
        self.values: np.ndarray | None = None
        self.offset = (0, 0)
        self.dark = None
        self.ghost = None
        self.pending = None
        self.setZValue(10)

    def set_values(self, values, levels, cmap, offset=(0, 0), ghost=None, pending=None) -> None:
        """Write ``values`` on the pixels; none from row-major index ``pending`` on (not
        computed yet in the sliding window)."""
        self.prepareGeometryChange()
        self.values = None if values is None else np.asarray(values, dtype=np.float64)
        self.offset = offset
        self.ghost = ghost
        self.pending = pending
        if self.values is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                self.dark = text_colours(self.values, levels, cmap)
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        if self.values is None:
            return QtCore.QRectF()
        h, w = self.values.shape
        return QtCore.QRectF(self.offset[1], self.offset[0], w, h)

    @never_raises
    def paint(self, painter, option, widget=None) -> None:
        if self.values is None:
            return
        transform = painter.worldTransform()
        cell_px = transform.mapRect(QtCore.QRectF(0, 0, 1, 1)).width()
        if cell_px < MIN_CELL_PX:
            return
        painter.resetTransform()  # never_raises restores the painter afterwards
        font = QtGui.QFont()
        font.setPixelSize(100)
        metrics = QtGui.QFontMetricsF(font)
        oy, ox = self.offset
        h, w = self.values.shape
        shown = h * w if self.pending is None else min(self.pending, h * w)
        for r in range(h):
            for c in range(w):
                if r * w + c >= shown:
                    return
                text = short_number(self.values[r, c])
                ghost = self.ghost is not None and self.ghost[r, c]
                font.setItalic(bool(ghost))
                font.setPixelSize(number_px(text, cell_px, metrics))
                painter.setFont(font)
                colour = GHOST if ghost else QtGui.QColor("black" if self.dark[r, c] else "white")
                painter.setPen(colour)
                rect = transform.mapRect(QtCore.QRectF(c + ox, r + oy, 1, 1))
                painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, text)


def number_px(text: str, cell_px: float, metrics: QtGui.QFontMetricsF) -> int:
    """Pixel size for `text` in a cell `cell_px` wide: as large as fits, 42 % of the
    cell's height and 85 % of its width, never below 6. `metrics` are of the font at
    100 pixels."""
    fit = 0.85 * cell_px * 100 / max(metrics.horizontalAdvance(text), 1.0)
    return max(6, int(min(0.42 * cell_px, fit)))


def numbers_of(cell) -> Numbers:
    """The cell's numbers item, created on first use."""
    item = getattr(cell, "_inspect_numbers", None)
    if item is None:
        item = Numbers()
        cell.view.addItem(item, ignoreBounds=True)
        cell._inspect_numbers = item
    return item


def _geometry(frame):
    s = frame.settings
    return conv_geometry(
        frame.input.shape, s.kernel_size, s.strides, s.padding, s.dilation, allow_empty=True
    )


def draw_receptive_field(window, frame, arithmetic, width: float) -> None:
    """Outline the taps read by the inspected pixel on the inputs, and the pixel on maps.

    Taps in the padding are dashed, outside the image; the padded area is framed and
    the input views widened to show it. Channels the filter does not read (other
    groups) get no outline.
    """
    h, w = frame.input.shape[:2]
    top, bottom, left, right = _geometry(frame).padding
    pad_frame = None
    if top or bottom or left or right:
        pad_frame = QtCore.QRectF(-left, -top, w + left + right, h + top + bottom)
    solid, dashed, read = [], [], set()
    if arithmetic is not None:
        part = arithmetic.channels[0]
        read = {p.channel for p in arithmetic.channels}
        for i, r in enumerate(part.rows):
            for j, c in enumerate(part.cols):
                (dashed if part.in_padding[i, j] else solid).append(QtCore.QRectF(c, r, 1, 1))
    for cell in window.input_panel.cells:
        shows = cell.index in read or cell.index < 0
        overlay_of(cell).set_rects(
            solid if shows else [], dashed if shows else [], pad_frame, width
        )
        wanted = (-left, w + right, -top, h + bottom)
        if getattr(cell, "_inspect_range", None) != wanted:
            cell._inspect_range = wanted
            cell.view.setRange(xRange=wanted[:2], yRange=wanted[2:], padding=0.02)
    pixel = []
    if arithmetic is not None:
        pixel = [QtCore.QRectF(arithmetic.col, arithmetic.row, 1, 1)]
    on_sum = arithmetic is not None and arithmetic.filter == frame.selected
    for cell in window.sum_panel.cells:
        overlay_of(cell).set_rects(pixel if on_sum else [], width=width)
    for cell in window.filters_panel.cells:
        mine = arithmetic is not None and cell.index == arithmetic.filter
        overlay_of(cell).set_rects(pixel, width=width if mine else 1)


def draw_numbers(window, frame, max_side) -> None:
    """Write values on every cell of maps whose sides are at most ``max_side`` (0: none).

    Input channels also show their padding values (zeros, or the reflected, replicated
    or wrapped values the layer reads) in the ghost cells around the image.
    """
    small = bool(max_side) and max(frame.input.shape[:2]) <= max_side
    padded = ghost = None
    offset = (0, 0)
    if small:
        geom = _geometry(frame)
        try:
            padded = pad_input(frame.input, geom.padding, frame.settings.padding_mode)
        except ValueError:  # reflect padding wider than the input: the frame says why
            padded = pad_input(frame.input, geom.padding, "zeros")
        top, _, left, _ = geom.padding
        offset = (-top, -left)
        h, w = frame.input.shape[:2]
        ghost = np.ones(padded.shape[:2], bool)
        ghost[top : top + h, left : left + w] = False
    for cell in window.input_panel.cells:
        # A panel laid out again for another input before its frame came: no numbers.
        fits = padded is not None and 0 <= cell.index < padded.shape[2]
        values = padded[:, :, cell.index] if small and fits else None
        _set_numbers(cell, values, offset, ghost)
    for cell in window.sum_panel.cells + window.filters_panel.cells:
        data = cell.data
        ok = small and data is not None and data.ndim == 2 and data.size > 1
        _set_numbers(cell, data if ok else None)


def _set_numbers(cell, values, offset=(0, 0), ghost=None) -> None:
    if values is None and getattr(cell, "_inspect_numbers", None) is None:
        return
    numbers_of(cell).set_values(
        values, cell.levels, cell.colormap, offset, ghost, cell.image.pending
    )
