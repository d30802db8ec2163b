"""Image cells on a pyqtgraph canvas: a title, the image, optional colour bar, hover.

Every map in the window (input channels, kernel maps, feature maps) is a :class:`MapCell`
placed in a :class:`pyqtgraph.GraphicsLayout`; its image is a
:class:`~convviz.qt.base.map_image.MapImageItem`. Arrays are (rows, cols) everywhere: the
application sets ``imageAxisOrder='row-major'`` once at start-up.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGraphicsRectItem

from convviz.core.numbers import short_number
from convviz.qt.base.colour_maps import DEFAULT, RENAMED, make_colormap
from convviz.qt.base.map_image import MapImageItem

# Panel headings of the main window ("Input (H, W, C_in) = ...").
HEADER_STYLE = "font-size: 13pt; font-weight: 600; padding: 4px 2px;"

DIVERGING = DEFAULT  # blue - white - red, zero is white
_current_diverging = DIVERGING
_CMAPS: dict[str, pg.ColorMap] = {}
_LUTS: dict[int, list] = {}  # id of a cached map -> its colours, for kernel cells


TINTS = {
    "R": (255, 60, 60),
    "G": (60, 220, 60),
    "B": (80, 120, 255),
    "A": (220, 220, 220),
}


def tint_colormap(name: str) -> pg.ColorMap:
    """Black to the channel's colour (R, G, B), or black to white for other channels."""
    rgb = TINTS.get(name, (255, 255, 255))
    return pg.ColorMap([0.0, 1.0], [(0, 0, 0), rgb])


def diverging_colormap(name: str | None = None) -> pg.ColorMap:
    """The named diverging map (see `convviz.qt.base.colour_maps`), or the one chosen with
    `set_diverging`: the one source of colour of every signed map, kernel cell, figure
    and animation (cached: cells compare colour maps by identity to skip recolouring)."""
    name = RENAMED.get(name, name) or _current_diverging
    if name not in _CMAPS:
        _CMAPS[name] = make_colormap(name)
    return _CMAPS[name]


def diverging_rgb(t: float) -> tuple[int, int, int]:
    """The chosen map's colour at ``t`` (0: most negative, 0.5: zero, 1: most positive),
    from the same 256-colour table the map cells draw with."""
    cmap = diverging_colormap()
    lut = _LUTS.get(id(cmap))
    if lut is None:
        lut = _LUTS[id(cmap)] = [
            tuple(int(v) for v in c[:3]) for c in cmap.getLookupTable(nPts=256)
        ]
    return lut[min(max(int(t * 256), 0), 255)]


def set_diverging(name: str) -> None:
    """Choose the colour map every signed map uses from the next frame on."""
    global _current_diverging
    name = RENAMED.get(name, name)
    diverging_colormap(name)  # fail now on an unknown name, not during a frame
    _current_diverging = name


MIN_TITLE_SCALE = 0.7
MIN_WORD_SCALE = 0.5


class NarrowLabel(pg.LabelItem):
    """A label that never widens its layout column: it asks for its height only."""

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(0)
        height = self.itemRect().height()
        for hint in (QtCore.Qt.SizeHint.MinimumSize, QtCore.Qt.SizeHint.PreferredSize):
            self._sizeHint[hint] = (0, height)


class Title(NarrowLabel):
    """A label that never widens its layout column, so images in a row get equal widths.

    Text wider than the column shrinks to fit, down to `MIN_TITLE_SCALE`; beyond that
    its lines break between words, and a word still wider than the column shrinks the
    text further, down to `MIN_WORD_SCALE`. Past that it is clipped at the right, so that
    its start stays readable, rather than drawn over its neighbour's title.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape)
        words_only = QtGui.QTextOption(self.item.document().defaultTextOption())
        words_only.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)
        self.item.document().setDefaultTextOption(words_only)

    def resizeEvent(self, ev):
        room = self.width()
        if self.item.textWidth() >= 0:
            self.item.setTextWidth(-1)
        natural = self.item.boundingRect().width()
        scale = 1.0 if natural <= room or room <= 0 else max(MIN_TITLE_SCALE, room / natural)
        if scale != self.item.scale():
            self.item.setScale(scale)
        if natural * scale > room > 0:  # still too wide: break the lines between words
            self.item.setTextWidth(room / scale)
            widest = self.item.document().idealWidth()  # a word longer than a line
            if widest * scale > room:
                scale = max(MIN_WORD_SCALE, room / widest)
                self.item.setScale(scale)
                self.item.setTextWidth(room / scale)
        super().resizeEvent(ev)
        left = self.itemRect().left()
        if self.itemRect().width() > room and left < 0:  # one word wider than the room
            self.item.moveBy(-left, 0)


class WrappedLabel(NarrowLabel):
    """A label whose text wraps to the width its layout gives it, and never widens it."""

    def resizeEvent(self, ev):
        width = self.width()
        if width > 0 and self.item.textWidth() != width:
            self.item.setTextWidth(width)
        super().resizeEvent(ev)


class MapCell(QtCore.QObject):
    """One titled image in a GraphicsLayout, with an optional colour bar beside it."""

    hovered = QtCore.Signal(object, int, int)
    clicked = QtCore.Signal(object, int, int)

    def __init__(
        self,
        layout: pg.GraphicsLayout,
        row: int,
        col: int,
        *,
        colorbar=False,
        title_size="11pt",
        item_class=MapImageItem,
    ):
        super().__init__()
        self.name = ""
        self.data: np.ndarray | None = None
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.title_size = title_size
        self.title = Title("", size=title_size)
        layout.addItem(self.title, row=row, col=col, colspan=2 if colorbar else 1)
        self.view = pg.ViewBox(
            lockAspect=True, invertY=True, enableMouse=False, enableMenu=False, defaultPadding=0.02
        )
        layout.addItem(self.view, row=row + 1, col=col)
        self.image = item_class(self)
        self.view.addItem(self.image)
        self.frame = _frame_item()
        self.view.addItem(self.frame)
        self.bar = None
        if colorbar:
            self.bar = pg.ColorBarItem(
                values=(-1, 1), colorMap=diverging_colormap(), interactive=False, width=10
            )
            # Short labels ("-4e38", "2.5e5"): pyqtgraph hides those wider than the bar.
            self.bar.axis.tickStrings = lambda values, scale, spacing: [
                short_number(v * scale) for v in values
            ]
            layout.addItem(self.bar, row=row + 1, col=col + 1)
        self._shape = None
        self._cmap = None

    @property
    def colormap(self) -> pg.ColorMap | None:
        """The colour map the image is drawn with (None for an RGB image)."""
        return None if self.data is not None and self.data.ndim == 3 else self._cmap

    def set_title(self, html: str) -> None:
        # Laying out rich text is costly: skip it when nothing changed (most refreshes).
        if (html, self.title_size) != getattr(self, "_title_key", None):
            self._title_key = (html, self.title_size)
            self.title.setText(html, size=self.title_size)

    def set_image(self, data: np.ndarray, levels, cmap: pg.ColorMap | None, box=None) -> None:
        """Show ``data`` (rows, cols) or (rows, cols, 3) with explicit levels: never auto.

        `box` (rows, cols slices) promises that ``data`` is the memory shown last time,
        changed only inside the box; the next render then recolours only the box.
        """
        levels = tuple(levels)
        if box is not None and self._same_picture(data, levels, cmap):
            # The memory, levels and colours shown: only the box's pixels changed. Skip
            # pyqtgraph's setImage (about 50 µs, and a brush segment sets 50 images).
            self.data = data
            self.image.note_change(box)
            self.image.redraw()
            return
        self.data = data
        self.levels = levels
        self.image.note_change(box)
        self.image.setImage(data, levels=levels, autoLevels=False)
        if cmap is not None and cmap is not self._cmap:
            self.image.setColorMap(cmap)
            if self.bar is not None:
                self.bar.setColorMap(cmap)
            self._cmap = cmap
        if self.bar is not None and tuple(levels) != getattr(self, "_bar_levels", None):
            self._bar_levels = tuple(levels)  # a colour bar repaints its whole axis
            self._show_bar_levels(*levels)
        if data.shape[:2] != self._shape:
            self._shape = data.shape[:2]
            self.frame.setRect(QtCore.QRectF(0, 0, data.shape[1], data.shape[0]))
            self.view.setRange(
                xRange=(0, max(data.shape[1], 1)), yRange=(0, max(data.shape[0], 1)), padding=0.02
            )

    def _same_picture(self, data: np.ndarray, levels: tuple, cmap) -> bool:
        """Whether ``data`` is the memory the image shows, with the same levels and
        colour map."""
        shown = self.image.image
        return (
            shown is not None
            and levels == self.levels
            and (cmap is None or cmap is self._cmap)
            and data.dtype == shown.dtype
            and data.shape == shown.shape
            and data.strides == shown.strides
            and data.__array_interface__["data"][0] == shown.__array_interface__["data"][0]
        )

    def _show_bar_levels(self, lo: float, hi: float) -> None:
        # pyqtgraph maps axis positions through float32: beyond ~1e30 the ticks vanish.
        # The bar then spans lo/unit..hi/unit and its axis labels multiply by unit.
        largest = max(abs(lo), abs(hi))
        unit = 10.0 ** math.floor(math.log10(largest)) if largest > 1e30 else 1.0
        self.bar.axis.setScale(unit)
        self.bar.setLevels((lo / unit, hi / unit))

    @property
    def bar_levels(self) -> tuple[float, float] | None:
        """The values at the ends of the colour bar, as its labels read."""
        if self.bar is None:
            return None
        unit = self.bar.axis.scale
        return tuple(v * unit for v in self.bar.levels())

    def set_pending(self, count: int | None) -> None:
        """Pixels from row-major index ``count`` on are not computed yet (sliding window);
        None: every pixel is."""
        if count != self.image.pending:
            self.image.pending = count
            self.image._renderRequired = True
            self.image.update()

    def set_highlight(self, on: bool, color="#ffd400") -> None:
        if getattr(self, "_highlight", None) == (on, color):
            return
        self._highlight = (on, color)
        pen = pg.mkPen(color, width=4) if on else pg.mkPen((110, 110, 110), width=1)
        pen.setCosmetic(True)
        self.frame.setPen(pen)


def _frame_item() -> QGraphicsRectItem:
    rect = QGraphicsRectItem(0, 0, 1, 1)
    pen = pg.mkPen((110, 110, 110), width=1)
    pen.setCosmetic(True)
    rect.setPen(pen)
    rect.setBrush(QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))
    return rect


def ok_cancel(dialog: QDialog) -> QDialogButtonBox:
    """OK and Cancel buttons that accept or reject ``dialog``; add them to its layout."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
