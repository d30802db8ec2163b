"""How a map becomes screen pixels: :class:`MapImageItem`, the image item of every map cell.

convviz colours the images the window shows itself: one pass to colour indices and one
table lookup into 32-bit pixels per shown pixel (a large map in a small cell colours
only every few pixels), recolouring only the box an edit changed and repainting only that
box. Pixels no scale can show are drawn apart: values beyond float32 in `OVERFLOW`, and
in the sliding window, pixels not computed yet in `PENDING`.
"""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from convviz.core.geometry import box_union
from convviz.qt.base.safe_paint import never_raises

if TYPE_CHECKING:
    from convviz.qt.base.views import MapCell

# Pixels that cannot be coloured on a scale: values beyond float32 (inf, NaN), drawn
# black, which no diverging map reaches; and, in the sliding window, pixels not computed
# yet, a neutral grey that is no value's colour either.
OVERFLOW = (0, 0, 0)
PENDING = (150, 150, 150)


def pixel_at(item: pg.ImageItem, pos: QtCore.QPointF) -> tuple[int, int] | None:
    """(row, col) of the image pixel under an item-coordinate position, or None."""
    image = item.image
    if image is None:
        return None
    row, col = int(np.floor(pos.y())), int(np.floor(pos.x()))
    if 0 <= row < image.shape[0] and 0 <= col < image.shape[1]:
        return row, col
    return None


# Titles shrink to fit a narrow column down to this fraction of their size, and further,
# down to the second, when one word alone is wider than the column.
def argb_table(lut: np.ndarray) -> np.ndarray:
    """A pyqtgraph lookup table ``(n, 3 or 4)`` uint8 as ``(n,)`` opaque 0xAARRGGBB words."""
    lut = np.asarray(lut, np.uint32)
    return (0xFF000000 | lut[:, 0] << 16 | lut[:, 1] << 8 | lut[:, 2]).astype(np.uint32)


def _argb(rgb) -> np.uint32:
    return np.uint32(0xFF000000 | rgb[0] << 16 | rgb[1] << 8 | rgb[2])


def mark_special(pixels, image, pending=None, origin=(0, 0), stride=1, width=None) -> None:
    """Paint over ``pixels`` (0xAARRGGBB, one per pixel of ``image``) the pixels that no
    colour scale shows: `OVERFLOW` where ``image`` holds inf or NaN and `PENDING` from
    row-major index ``pending`` on. ``image`` is every ``stride``-th pixel of a map
    ``width`` pixels wide from ``origin`` (row, col) on."""
    bad = ~np.isfinite(image)
    if pending is not None:
        rows = origin[0] + np.arange(image.shape[0]) * stride
        cols = origin[1] + np.arange(image.shape[1]) * stride
        waiting = rows[:, None] * (width or image.shape[1]) + cols[None, :] >= pending
        pixels[waiting] = _argb(PENDING)
        bad &= ~waiting
    if bad.any():
        pixels[bad] = _argb(OVERFLOW)


def colour_indices(data: np.ndarray, levels, n: int, top: float | None = None) -> np.ndarray:
    """Indices into an `n`-colour table, as pyqtgraph computes them for a float image:
    ``trunc(clip((data - lo) * top / (hi - lo), 0, n - 1))``, where `top` is `n` for a
    lookup table and 255 for the channels of an RGB image. Pixels that are inf or NaN get
    some index: `mark_special` paints over them."""
    lo, hi = (float(v) for v in levels)
    scale = (n if top is None else top) / ((hi - lo) or 1.0)
    # Levels beyond float32 (maps near its limit) are subtracted in float64, not as inf.
    wide = max(abs(lo), abs(hi)) > 1e38
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN: see mark_special
        scaled = np.subtract(data, lo, dtype=np.float64 if wide else np.float32)
        np.multiply(scaled, np.float32(scale), out=scaled)
        np.clip(scaled, 0, n - 1, out=scaled)
        return scaled.astype(np.uint8 if n <= 256 else np.uint16)


class MapImageItem(pg.ImageItem):
    """An ImageItem that reports the pixel under the mouse and clicks on it.

    Rendering is done here for the images the window shows (float, one channel with a
    lookup table, or RGB with one pair of levels): one pass to colour indices and one
    table lookup into 32-bit pixels, which Qt draws without converting. pyqtgraph's
    own path rebuilds a Python colour table and an indexed image on every render, which
    cost about a third of a brush stroke's frame at 256 x 256.
    """

    def __init__(self, cell: MapCell):
        super().__init__()
        # Weak: with a strong reference each cell and its image item form a cycle, which
        # only Python's garbage collector frees, at an arbitrary moment. A collection that
        # ran inside the constructor of a new ViewBox, while a panel rebuilt its cells,
        # destroyed the old cells' Qt items there and crashed the process.
        self._cell = weakref.ref(cell)
        self.setAcceptHoverEvents(True)
        self._table_of = None  # the lookup table `_table` was made from
        self._table = None
        self._stride = 1
        self._shown = None  # (pixels, what they were made from) of the last render
        self._box: tuple[slice, slice] | None = None  # changed since then; None: all
        self.pending: int | None = None  # row-major index of the first pixel not computed

    @property
    def cell(self) -> MapCell | None:
        """The cell this item shows (None once the cell is gone)."""
        return self._cell()

    def _colour_table(self) -> np.ndarray:
        if self.lut is not self._table_of:
            self._table_of, self._table = self.lut, argb_table(self.lut)
        return self._table

    def screen_stride(self) -> int:
        """Image pixels per screen pixel, rounded down; 1 when a pixel is shown larger.
        Kept until the view's transform changes (or its screen's pixel ratio)."""
        memo = getattr(self, "_stride_memo", None)
        view = memo[0]() if memo is not None else None
        if view is not None and view.devicePixelRatioF() == memo[1]:
            return memo[2]
        views = self.scene().views() if self.scene() is not None else []
        if not views:
            return 1
        ratio = views[0].devicePixelRatioF()
        stride = self._measured_stride(views[0], ratio)
        self._stride_memo = (weakref.ref(views[0]), ratio, stride)
        return stride

    def _measured_stride(self, view, ratio: float) -> int:
        transform = self.deviceTransform(view.viewportTransform())
        shown = (
            min(
                math.hypot(transform.m11(), transform.m12()),
                math.hypot(transform.m21(), transform.m22()),
            )
            * ratio
        )
        return max(1, int(1.0 / shown)) if shown > 0 else 1

    def viewTransformChanged(self):
        self._stride_memo = None
        super().viewTransformChanged()
        if self.image is not None and self.screen_stride() != self._stride:
            self._renderRequired = True
            self.update()

    def redraw(self) -> None:
        """Render again and repaint, the image being the same memory (its pixels changed
        inside the box given to :meth:`note_change`)."""
        self._renderRequired = True
        self.update()

    def note_change(self, box) -> None:
        """The next image differs from the shown one only inside `box` (None: anywhere)."""
        if box is None or self._shown is None:
            self._shown = None
        else:
            self._box = box_union([self._box, box])

    def update(self, *args) -> None:
        """Schedule a repaint: with no rectangle given, of only the changed box when the
        next render recolours only that box (see :meth:`note_change`), so the view paints
        a few hundred pixels of this map, and of what lies under and over them, instead
        of the whole map, its title and its neighbours."""
        if not args:
            rect = self._changed_rect()
            if rect is not None:
                super().update(rect)
                return
        super().update(*args)

    def _changed_rect(self) -> QtCore.QRectF | None:
        """The changed box in this item's coordinates, grown by a shown pixel on every
        side (a pixel drawn larger than the screen's spreads over its neighbours' edges),
        when the next render will recolour only it; else None."""
        # pyqtgraph's constructor updates before this class's has set its attributes.
        shown, box = getattr(self, "_shown", None), getattr(self, "_box", None)
        if shown is None or box is None or self.image is None:
            return None
        stride = self.screen_stride()
        if shown[1] != self._source_key(stride):
            return None
        (r0, r1), (c0, c1) = ((b.start, b.stop) for b in box)
        return QtCore.QRectF(
            c0 - stride, r0 - stride, c1 - c0 + 2 * stride, r1 - r0 + 2 * stride
        ).intersected(self.boundingRect())

    def _source_key(self, stride: int) -> tuple:
        image = self.image
        memory = (image.__array_interface__["data"][0], image.strides, image.shape)
        return (memory, tuple(np.ravel(self.levels)), id(self.lut), stride, self.pending)

    def _repaint_box(self, stride: int, key: tuple) -> np.ndarray | None:
        """The last render's pixels with only the changed box recoloured, when valid
        (``key``: what the pixels are to be made from now, see :meth:`_source_key`)."""
        shown, box = self._shown, self._box
        if shown is None or box is None or shown[1] != key:
            return None
        (r0, r1), (c0, c1) = ((-(-b.start // stride), -(-b.stop // stride)) for b in box)
        pixels = shown[0]
        if r1 > r0 and c1 > c0:
            window = (slice(r0 * stride, r1 * stride), slice(c0 * stride, c1 * stride))
            part = self._pixels(stride, self.image[window], (r0 * stride, c0 * stride))
            if part is None:
                return None
            pixels[r0:r1, c0:c1] = part
        return pixels

    def _pixels(self, stride: int, image=None, origin=(0, 0)) -> np.ndarray | None:
        """Every `stride`-th pixel of the image (or of its part ``image`` from ``origin``)
        as 0xAARRGGBB words, or None for pyqtgraph to render."""
        image = self.image if image is None else image
        levels = self.levels
        if image.dtype.kind != "f" or levels is None or np.ndim(levels) != 1:
            return None
        image = image[::stride, ::stride]
        if image.ndim == 2 and isinstance(self.lut, np.ndarray) and self.lut.ndim == 2:
            table = self._colour_table()
            pixels = np.take(table, colour_indices(image, levels, len(table)))
            width = self.image.shape[1]
            mark_special(pixels, image, self.pending, origin, stride, width)
            return pixels
        if image.ndim == 3 and image.shape[2] == 3 and self.lut is None:
            rgb = colour_indices(image, levels, 256, 255.0).astype(np.uint32)
            return 0xFF000000 | rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
        return None

    def render(self):
        if self.image is None or self.image.size == 0 or self.axisOrder != "row-major":
            return super().render()
        stride = self.screen_stride()
        key = self._source_key(stride)
        pixels = None
        if not self.autoDownsample:
            pixels = self._repaint_box(stride, key)
            if pixels is None:
                pixels = self._pixels(stride)  # a new, C-contiguous uint32 array
        self._box = None
        if pixels is None:
            self._shown = None
            return super().render()
        self._shown = (pixels, key)
        # paint() stretches the picked pixels over the whole image's rectangle; Qt draws
        # nearest-neighbour, so the screen shows what a full-size image would show.
        self._stride = stride
        self.qimage = pg.functions.ndarray_to_qimage(pixels, QtGui.QImage.Format.Format_RGB32)
        self._renderRequired = False
        self._unrenderable = False

    @never_raises
    def paint(self, painter, *args):
        super().paint(painter, *args)  # renders first: the colouring runs inside paint

    def hoverEvent(self, ev):
        if ev.isExit():
            self.cell.hovered.emit(self.cell, -1, -1)
            return
        px = pixel_at(self, ev.pos())
        if px is not None:
            self.cell.hovered.emit(self.cell, *px)

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            px = pixel_at(self, ev.pos())
            self.cell.clicked.emit(self.cell, *(px or (-1, -1)))
            ev.accept()
