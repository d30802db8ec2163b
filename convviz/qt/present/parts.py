"""The pieces of the presentation view: maps on canvases of their own, one kernel's
numbers, the lesson band, the slim control strip, and the diagram's canvas and labels."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.qt.base.map_image import MapImageItem
from convviz.qt.base.safe_paint import never_raises
from convviz.qt.edit.kernel_cells import KernelCells, cell_size
from convviz.qt.maps.panels import BACKGROUND, MapPanel, PaintImageItem
from convviz.qt.present.layout import Plan
from convviz.qt.sessions.lesson_dock import LessonText
from convviz.qt.status_line import ElidedLabel

LIGHT = "#e8e8e8"
NOTE = "#ffcc66"


def mono_font(points: float) -> QtGui.QFont:
    font = QtGui.QFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
    font.setStyleHint(QtGui.QFont.StyleHint.Monospace)
    font.setPointSizeF(points)
    return font


class MapCanvas(MapPanel):
    """One titled map on a canvas of its own, placed by the presentation's layout.

    Input channels are painted on, as in the normal view: the canvas has the input
    panel's stroke signals.
    """

    strokeStarted = QtCore.Signal(int, float, float)
    strokeMoved = QtCore.Signal(float, float)
    strokeFinished = QtCore.Signal()

    def __init__(self, index: int, *, paint=False, colorbar=False, title_points=14.0):
        super().__init__()
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys go to the view
        self.scale = title_points / 11  # MapPanel's titles are 11 pt at scale 1
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.ci.layout.setSpacing(0)
        item = PaintImageItem if paint else MapImageItem
        self.cell = self._new_cell(0, 0, index, colorbar=colorbar, item_class=item)
        self.cell.title.item.document().setDocumentMargin(0)  # the maps get the room

    def set_title_height(self, pixels: int) -> None:
        self.ci.layout.setRowFixedHeight(0, pixels)

    def set_bar(self, width: int, points: float) -> None:
        """The colour bar `width` pixels wide, its tick labels at `points`."""
        if self.cell.bar is not None:
            self.ci.layout.setColumnFixedWidth(1, width)
            self.cell.bar.axis.setStyle(tickFont=_font(points), hideOverlappingLabels=True)
            self.cell.bar.axis.setWidth(None)


class KernelGrid(KernelCells):
    """The numbers of kernel `k` of the selected filter, editable, under a label."""

    def __init__(self, k: int, parent=None):
        super().__init__(parent)
        self.k = k
        self.label = QtWidgets.QLabel()
        self.label.setStyleSheet(f"color: {LIGHT};")
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._grid = QtWidgets.QGridLayout()
        self._grid.setSpacing(2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.label)
        lay.addLayout(self._grid)
        lay.addStretch(1)
        self._label_text = ""

    def _elide_label(self) -> None:
        """The label whole, or cut with "…" where the grid is narrower than it (never cut
        off at both ends)."""
        metrics = self.label.fontMetrics()
        room = max(self.width(), 1)
        text = metrics.elidedText(self._label_text, QtCore.Qt.TextElideMode.ElideRight, room)
        self.label.setText(text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide_label()

    @staticmethod
    def measure(
        kh: int, kw: int, points: float, label_points: float, chars: int
    ) -> tuple[int, int]:
        """Width and height of a `kh` × `kw` grid of cells for `chars` characters in
        `points`, with its label."""
        size = cell_size(mono_font(points), chars)
        label = QtGui.QFontMetrics(_font(label_points)).height() + 4
        return kw * size.width() + (kw - 1) * 2, label + kh * size.height() + (kh - 1) * 2

    def set_fonts(self, points: float, label_points: float, chars: int) -> None:
        self._cell_font = mono_font(points)
        self._cell_size = cell_size(self._cell_font, chars)
        self.label.setFont(_font(label_points))
        self._elide_label()
        for cell in self._cells.values():
            cell.setFont(self._cell_font)
            cell.setFixedSize(self._cell_size)

    def set_kernel(self, values: np.ndarray, vmax: float, label: str) -> None:
        """Show ``values`` (kh, kw) tinted against `vmax`; never emits edit signals."""
        kh, kw = values.shape
        self._updating = True
        try:
            if self._shape != (kh, kw, 1):
                self._rebuild(kh, kw)
            if self._label_text != label:
                self._label_text = label
                self.label.setToolTip(label)
                self._elide_label()
            nested = values.tolist()
            for (r, c, _k), cell in self._cells.items():
                cell.show_value(nested[r][c], vmax)
        finally:
            self._updating = False

    def cells(self) -> list:
        return list(self._cells.values())

    def _rebuild(self, kh: int, kw: int) -> None:
        self._finish_gesture()
        for cell in self._cells.values():
            cell.blockSignals(True)  # leaving focus while dying must not commit
            self._grid.removeWidget(cell)
            cell.deleteLater()
        self._cells.clear()
        for r in range(kh):
            for c in range(kw):
                cell = self._make_cell((r, c, self.k))
                self._cells[(r, c, self.k)] = cell
                self._grid.addWidget(cell, r, c)
        self._shape = (kh, kw, 1)

    def _on_move(self, cell, rows: int) -> None:
        r, c, k = cell.key
        target = self._cells.get((max(0, min(self._shape[0] - 1, r + rows)), c, k))
        if target is not None and target is not cell:
            target.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
            target.selectAll()


def _font(points: float, bold=False) -> QtGui.QFont:
    font = QtGui.QFont(QtWidgets.QApplication.font())
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


def _label(parent, points: float, colour=LIGHT, bold=False) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(parent)
    label.setFont(_font(points, bold))
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet(f"color: {colour}; background: transparent;")
    return label


class Diagram(QtWidgets.QWidget):
    """The canvas the diagram's pieces sit on; it draws the lines joining the kernel maps."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(BACKGROUND))
        self.setPalette(palette)
        self.plan: Plan | None = None

    @never_raises
    def paintEvent(self, event) -> None:
        p = self.plan
        if p is None or not p.joints:
            return
        painter = QtGui.QPainter(self)
        painter.setPen(QtGui.QPen(QtGui.QColor(LIGHT), 2))
        if p.route:  # "wrapped": from the "+" column down to the sum on the line below
            x_line = p.route[0][0]
            for x, y in p.joints:
                painter.drawLine(x + 4, y, x_line, y)
            painter.drawLine(x_line, p.joints[0][1], x_line, p.joints[-1][1])
            painter.drawPolyline([QtCore.QPoint(x, y) for x, y in p.route])
            painter.end()
            return
        x_line = p.sum_point[0] - p.rects.get("plus0", (0, 0, 12, 0))[2] // 2
        for x, y in p.joints:
            painter.drawLine(x + 4, y, x_line, y)
        top = min(p.joints[0][1], p.sum_point[1])
        bottom = max(p.joints[-1][1], p.sum_point[1])
        painter.drawLine(x_line, top, x_line, bottom)
        painter.drawLine(x_line, p.sum_point[1], p.sum_point[0] + 4, p.sum_point[1])
        painter.end()


class LessonBand(QtWidgets.QFrame):
    """The lesson's text at a size read from the back row, with Previous / Next."""

    stepRequested = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("lesson_band")
        self.setStyleSheet("#lesson_band { background: #2b2d31; }")
        self.text = LessonText()
        self.text.setOpenExternalLinks(False)
        self.text.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # PgUp/PgDn step lessons
        self.previous_button = QtWidgets.QPushButton("◀ Previous")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.position = QtWidgets.QLabel()
        self.position.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.position.setStyleSheet(f"color: {LIGHT};")
        for button in (self.previous_button, self.next_button):
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.previous_button.clicked.connect(lambda: self.stepRequested.emit(-1))
        self.next_button.clicked.connect(lambda: self.stepRequested.emit(1))
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.position)
        side.addWidget(self.previous_button)
        side.addWidget(self.next_button)
        side.addStretch(1)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.text, 1)
        lay.addLayout(side)
        self.points = 18.0

    def set_points(self, text_points: float, button_points: float) -> None:
        """Text size of the lesson, and of the buttons beside it."""
        self.points = text_points
        self.text.setStyleSheet(f"font-size: {text_points:.1f}pt;")
        for widget in (self.previous_button, self.next_button, self.position):
            widget.setFont(_font(button_points))

    _markdown = ()  # not a text: the first show_lesson renders

    def show_lesson(self, markdown: str | None, position: str, back: bool, forward: bool):
        if markdown != self._markdown:
            self._markdown = markdown
            self.text.show_markdown(
                markdown or "No lesson is open: **Next ▶** (Page Down) opens lesson 1."
            )
        self.position.setText(position)
        self.previous_button.setEnabled(back)
        self.next_button.setEnabled(forward)

    def height_for(self, lines: int) -> int:
        """Height that shows a heading and `lines` lines of text at the size set."""
        line = QtGui.QFontMetrics(_font(self.points)).lineSpacing()
        margins = self.layout().contentsMargins()
        document = 2 * round(self.text.document().documentMargin()) + 2 * self.text.frameWidth()
        # A heading takes about 2.3 lines with its margins.
        return margins.top() + margins.bottom() + document + round((lines + 2.3) * line)


class ControlStrip(QtWidgets.QFrame):
    """The slim strip over the diagram: filter choice, the sliding window, the text size,
    what the mouse points at, messages, and the way out."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("control_strip")
        self.setStyleSheet(
            f"#control_strip {{ background: #2b2d31; }} QLabel {{ color: {LIGHT}; }}"
        )
        self.previous_filter = QtWidgets.QToolButton(text="◀")
        self.next_filter = QtWidgets.QToolButton(text="▶")
        self.filter_label = QtWidgets.QLabel()
        self.play = QtWidgets.QToolButton(text="Slide the window (Space)")
        self.play.setCheckable(True)
        self.readout = ElidedLabel()
        self.readout.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        self.readout.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.message = ElidedLabel()
        self.message.setStyleSheet(f"color: {NOTE};")
        self.smaller = QtWidgets.QToolButton(text="A−")
        self.larger = QtWidgets.QToolButton(text="A+")
        self.leave = QtWidgets.QToolButton(text="Leave (Esc)")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        for widget in (self.previous_filter, self.filter_label, self.next_filter, self.play):
            lay.addWidget(widget)
        lay.addSpacing(12)
        lay.addWidget(self.readout, 1)
        lay.addWidget(self.message)
        for widget in (self.smaller, self.larger, self.leave):
            lay.addWidget(widget)
        for button in self.findChildren(QtWidgets.QToolButton):
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)

    def set_points(self, points: float) -> None:
        font = _font(points)
        for widget in self.findChildren(QtWidgets.QWidget):
            widget.setFont(font)
        self.filter_label.setFont(_font(points, bold=True))
