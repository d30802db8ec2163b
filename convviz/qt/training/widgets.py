"""Widgets of the "Learn a kernel" dock: the target canvas and the kernel tables."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from convviz.core import brush
from convviz.core.levels import max_abs
from convviz.core.numbers import format_number
from convviz.qt.base.views import diverging_colormap
from convviz.qt.maps.panels import BACKGROUND


class _CanvasItem(pg.ImageItem):
    """Forwards presses and drags, in (row, col) image coordinates, to its canvas."""

    def __init__(self, canvas: TargetCanvas):
        super().__init__()
        self.canvas = canvas

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            p = (ev.pos().y(), ev.pos().x())
            self.canvas.paint(p, p)

    def mouseDragEvent(self, ev):
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        last = ev.buttonDownPos() if ev.isStart() else ev.lastPos()
        self.canvas.paint((last.y(), last.x()), (ev.pos().y(), ev.pos().x()))


class TargetCanvas(pg.GraphicsLayoutWidget):
    """A hand-painted target feature map, sized like the layer's output (H', W').

    It belongs to the dock, not to the document: painting it changes no weights, so it
    is not an undo step. The brush joins successive mouse positions into capsules, so
    fast strokes have no gaps.
    """

    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setMinimumHeight(170)
        self.setMaximumHeight(280)
        self.view = self.ci.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.item = _CanvasItem(self)
        self.view.addItem(self.item)
        self.values = np.zeros((1, 1), np.float32)
        self.value = 1.0
        self.radius = 1.0

    def set_size(self, h: int, w: int) -> None:
        """Start a blank target when the output size changes; keep it otherwise."""
        if self.values.shape != (h, w):
            self.values = np.zeros((h, w), np.float32)
            self._show()

    def set_values(self, values: np.ndarray) -> None:
        self.values = np.array(values, np.float32)
        self._show()
        self.changed.emit()

    def paint(self, p0, p1) -> None:
        if brush.paint_segment(self.values[:, :, None], [0], p0, p1, self.radius, self.value):
            self._show()
            self.changed.emit()

    def _show(self) -> None:
        m = max(max_abs(self.values), 1e-6)
        self.item.setImage(self.values, levels=(-m, m), autoLevels=False)
        self.item.setColorMap(diverging_colormap())  # the map chosen now
        self.view.autoRange(padding=0.02)


class KernelTable(QtWidgets.QTableWidget):
    """The kernels of one filter, stacked: a title row per kernel, then its kh rows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.horizontalHeader().setVisible(False)
        self.verticalHeader().setVisible(False)
        self.setSizeAdjustPolicy(QtWidgets.QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.setStyleSheet("font-size: 13pt;")
        self.kernels = np.zeros((0, 0, 0), np.float32)

    def show_kernels(self, kernels: np.ndarray, names) -> None:
        """Show ``(kh, kw, Cg)`` kernels, each under the name of the channel it reads."""
        self.kernels = kernels.copy()
        kh, kw, cg = kernels.shape
        self.clearSpans()
        self.setRowCount((kh + 1) * cg)
        self.setColumnCount(kw)
        for k in range(cg):
            top = k * (kh + 1)
            title = QtWidgets.QTableWidgetItem(f"kernel {k + 1} ({names[k]})")
            self.setItem(top, 0, title)
            if kw > 1:
                self.setSpan(top, 0, 1, kw)
            for r in range(kh):
                for c in range(kw):
                    item = QtWidgets.QTableWidgetItem(format_number(kernels[r, c, k]))
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                    self.setItem(top + 1 + r, c, item)
        self.resizeColumnsToContents()

    def numbers(self, k: int) -> list[list[str]]:
        """The texts shown for kernel `k`, row by row (what a student reads)."""
        kh, kw = self.kernels.shape[:2]
        top = k * (kh + 1) + 1
        return [[self.item(top + r, c).text() for c in range(kw)] for r in range(kh)]


class RevealBox(QtWidgets.QGroupBox):
    """Teacher and learned kernels side by side, hidden until the teacher is revealed."""

    def __init__(self, parent=None):
        super().__init__("Teacher filter vs learned filter", parent)
        lay = QtWidgets.QGridLayout(self)
        self.teacher = KernelTable()
        self.learned = KernelTable()
        for col, (text, table) in enumerate(
            (("Teacher kernels", self.teacher), ("Learned kernels", self.learned))
        ):
            label = QtWidgets.QLabel(text)
            label.setStyleSheet("font-size: 13pt; font-weight: 600;")
            lay.addWidget(label, 0, col)
            lay.addWidget(table, 1, col, QtCore.Qt.AlignmentFlag.AlignTop)
