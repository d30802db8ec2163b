"""Edit the numbers of one filter's kernels live, legibly enough for a projector.

The widget displays what :meth:`KernelEditor.set_filter` gave it and emits intents; the
controller owns the model and echoes every accepted change back through ``set_filter``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from convviz.core.numbers import MAX_MAGNITUDE, NUDGE_STEP, format_number, parse_number

__all__ = ["KernelEditor"]

# Ends of ColorBrewer's RdBu: colour-blind safe and still distinct on washed-out projectors.
_NEGATIVE = (33, 102, 172)
_POSITIVE = (178, 24, 43)
_FOCUS = QColor(20, 20, 20)
_ERROR = QColor(230, 0, 0)
_DRAG_THRESHOLD = 4  # px before a press becomes a drag; below it, clicks just place the cursor
_DRAG_STEP_PX = 8
_WHEEL_IDLE_MS = 400
_ERROR_MS = 1500
_CELL_CHARS = 7  # "-0.0625", "-0.111", "1e-04": fits a 3-significant-digit value
# Switching windows or opening the context menu is not "done editing".
_STILL_EDITING = (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason)


def _tint(value: float, vmax: float) -> QColor:
    """Diverging colour: white at zero, full blue/red at |value| >= vmax."""
    t = max(-1.0, min(1.0, value / vmax))
    end = _POSITIVE if t > 0 else _NEGATIVE
    a = abs(t)
    return QColor(*(round(255 + (e - 255) * a) for e in end))


def _readable_text(bg: QColor) -> QColor:
    """Black or white, whichever contrasts more with ``bg`` (WCAG relative luminance)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * linear(bg.redF()) + 0.7152 * linear(bg.greenF()) + 0.0722 * linear(bg.blueF())
    # Contrast with black is (lum+0.05)/0.05, with white 1.05/(lum+0.05); equal at ~0.179.
    return QColor(Qt.GlobalColor.black) if lum > 0.179 else QColor(Qt.GlobalColor.white)


def _step(modifiers: Qt.KeyboardModifier) -> float:
    step = NUDGE_STEP
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        step *= 10
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        step /= 10
    return step


class _NumberCell(QLineEdit):
    """One editable number: typing, wheel/drag/Page nudges, tinted background.

    ``key`` is ``(row, col, kernel)``, or ``None`` for the bias. The cell reports intents
    with itself as first argument; the editor turns them into its public signals.
    """

    committed = Signal(object, float)
    rejected = Signal(object, str)
    nudged = Signal(object, float, bool)  # cell, delta, from a drag
    dragFinished = Signal(object)
    moveRequested = Signal(object, int)
    focused = Signal(object)

    def __init__(self, key: tuple[int, int, int] | None, font: QFont, size: QSize) -> None:
        super().__init__()
        self.key = key
        self.value = 0.0
        self._vmax: float | None = None
        self._shown = "0"
        self._bg = QColor(Qt.GlobalColor.white)
        self._errors = 0  # error flashes still showing
        self._press_y: float | None = None
        self._press_x = 0.0
        self._drag_steps = 0
        self._dragging = False
        self._wheel_rest = 0
        self.setFont(font)
        self.setFixedSize(size)
        self.setFrame(False)
        self.setTextMargins(4, 0, 4, 0)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        palette = self.palette()
        # The tint is painted in paintEvent; a transparent base keeps styles from covering it.
        palette.setColor(QPalette.ColorRole.Base, Qt.GlobalColor.transparent)
        palette.setColor(QPalette.ColorRole.Text, Qt.GlobalColor.black)
        self.setPalette(palette)

    def show_value(self, value: float, vmax: float) -> None:
        """Display ``value`` without disturbing a half-typed edit or the cursor."""
        # Most echoes change one cell of hundreds: skip the rest cheaply.
        if value != self.value or vmax != self._vmax:
            self.value, self._vmax = value, vmax
            self._shown = format_number(value, 3, max_chars=_CELL_CHARS)
            self.setToolTip(format_number(value, 7))
            bg = _tint(value, vmax)
            if bg != self._bg:
                self._bg = bg
                fg = _readable_text(bg)
                if fg != self.palette().color(QPalette.ColorRole.Text):
                    palette = self.palette()
                    palette.setColor(QPalette.ColorRole.Text, fg)
                    self.setPalette(palette)
                self.update()
        if not self.isModified() and self._shown != self.text():
            cursor = self.cursorPosition()
            self.setText(self._shown)
            if self.hasFocus():
                self.setCursorPosition(min(cursor, len(self._shown)))

    def revert(self) -> None:
        self.setText(self._shown)

    def commit(self) -> None:
        # Only typed text counts: pressing Enter on an untouched "0.111" must not turn 1/9
        # into 0.111.
        if not self.isModified():
            return
        try:
            value = parse_number(self.text())
        except ValueError as exc:
            self.revert()
            self._flash_error()
            self.rejected.emit(self, str(exc))
            return
        self.setText(format_number(value, 3, max_chars=_CELL_CHARS))
        self.committed.emit(self, value)

    def _flash_error(self) -> None:
        self._errors += 1
        self.update()
        QTimer.singleShot(_ERROR_MS, self, self._end_error)

    def _end_error(self) -> None:
        self._errors -= 1
        self.update()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            self.selectAll()
        elif key == Qt.Key.Key_Escape:
            self.revert()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.moveRequested.emit(self, -1 if key == Qt.Key.Key_Up else 1)
        elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            sign = 1 if key == Qt.Key.Key_PageUp else -1
            self.nudged.emit(self, sign * _step(event.modifiers()), False)
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.focused.emit(self)
        self.update()

    def focusOutEvent(self, event) -> None:
        if event.reason() not in _STILL_EDITING:
            self.commit()
        super().focusOutEvent(event)
        self.update()

    def wheelEvent(self, event) -> None:
        # Some platforms turn Shift+wheel into horizontal scrolling.
        delta = event.angleDelta().y() or event.angleDelta().x()
        self._wheel_rest += delta
        steps = int(self._wheel_rest / 120)  # touchpads send many small deltas
        self._wheel_rest -= steps * 120
        if steps:
            self.nudged.emit(self, steps * _step(event.modifiers()), False)
        event.accept()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_x, self._press_y = event.position().x(), event.position().y()
            self._drag_steps = 0
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._press_y is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        dy = self._press_y - event.position().y()
        dx = event.position().x() - self._press_x
        if not self._dragging:
            if abs(dy) <= _DRAG_THRESHOLD or abs(dy) <= abs(dx):
                super().mouseMoveEvent(event)  # selecting text
                return
            self._dragging = True
            self.deselect()
            self.setCursor(Qt.CursorShape.SizeVerCursor)
        steps = int(dy / _DRAG_STEP_PX)
        if steps != self._drag_steps:
            self.nudged.emit(self, (steps - self._drag_steps) * _step(event.modifiers()), True)
            self._drag_steps = steps

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        self._press_y = None
        if self._dragging:
            self._dragging = False
            self.unsetCursor()
            self.dragFinished.emit(self)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._bg)
        painter.end()
        super().paintEvent(event)
        painter = QPainter(self)
        if self._errors or self.hasFocus():
            painter.setPen(QPen(_ERROR if self._errors else _FOCUS, 3))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
            painter.setPen(QPen(QColor(Qt.GlobalColor.white), 1))
            painter.drawRect(self.rect().adjusted(3, 3, -4, -4))
        else:
            painter.setPen(QPen(QColor(150, 150, 150), 1))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()


class KernelEditor(QWidget):
    """Editable view of one filter: its kernels side by side, then its bias.

    Shows the Cg kernels of the filter (one kh×kw grid of number cells per input channel
    they slide over), wrapped into rows that follow the panel width and scrolled when they
    do not fit. Cells are tinted on a diverging blue–white–red scale.

    Signals
    -------
    valueEdited(row, col, kernel_index, value)
        A value typed into a kernel cell and committed with Enter or by leaving the cell.
    valueNudged(row, col, kernel_index, value)
        The new absolute value after one wheel notch, drag step or Page Up/Down on a kernel
        cell (Shift: ×10, Ctrl: ÷10). A burst of nudges ends with ``nudgeFinished``.
    nudgeFinished()
        A drag was released, or 400 ms passed since the last wheel/Page step.
    biasEdited(value)
        The bias was typed or nudged (nudges are followed by ``nudgeFinished`` too).
    errorMessage(text)
        Typed text was rejected; the cell shows its old value again.
    """

    valueEdited = Signal(int, int, int, float)
    valueNudged = Signal(int, int, int, float)
    nudgeFinished = Signal()
    biasEdited = Signal(float)
    errorMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cells: dict[tuple[int, int, int], _NumberCell] = {}
        self._boxes: list[QFrame] = []
        self._labels: list[QLabel] = []
        self._shape: tuple[int, int, int] | None = None
        self._names: tuple[str, ...] = ()
        self._values: np.ndarray | None = None
        self._vmax_override: float | None = None
        self._updating = False
        self._columns = 0
        # Open nudge gesture: (cell, from a drag, value at its start, summed steps).
        self._gesture: tuple[_NumberCell, bool, float, float] | None = None
        self._idle = QTimer(self, singleShot=True, interval=_WHEEL_IDLE_MS)
        self._idle.timeout.connect(self._finish_gesture)

        base = self.font()
        self._cell_font = QFont(base)
        self._cell_font.setFamilies(
            [QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()]
        )
        self._cell_font.setStyleHint(QFont.StyleHint.Monospace)
        if base.pointSizeF() > 0:  # projectors: a notch above the app font
            self._cell_font.setPointSizeF(base.pointSizeF() * 1.2)
        else:
            self._cell_font.setPixelSize(round(base.pixelSize() * 1.2))
        metrics = QFontMetrics(self._cell_font)
        self._cell_size = QSize(
            max(56, metrics.horizontalAdvance("-" + "0" * (_CELL_CHARS - 1)) + 16),
            max(32, metrics.height() + 14),
        )

        self._title = QLabel()
        title_font = QFont(base)
        title_font.setBold(True)
        self._title.setFont(title_font)
        self._canvas = QWidget()
        self._grid = QGridLayout(self._canvas)
        self._grid.setSpacing(12)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidget(self._canvas)
        self._scroll.viewport().installEventFilter(self)

        self._bias = self._make_cell(None)
        self._bias_row = QWidget()
        row = QHBoxLayout(self._bias_row)
        row.setContentsMargins(0, 0, 0, 0)
        bias_label = QLabel("bias")
        bias_label.setFont(self._cell_font)
        bias_label.setBuddy(self._bias)
        row.addWidget(bias_label)
        row.addWidget(self._bias)
        row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addWidget(self._scroll, 1)
        layout.addWidget(self._bias_row)
        self._bias_row.hide()

    def set_filter(
        self,
        kernels: np.ndarray,
        bias: float | None,
        filter_index: int,
        n_filters: int,
        channel_names: Sequence[str],
    ) -> None:
        """Show one filter. Cheap when the shape is unchanged; never emits edit signals.

        Parameters
        ----------
        kernels : numpy.ndarray
            ``(kh, kw, Cg)``: the filter's kernels, one per input channel of its group.
        bias : float or None
            The filter's bias; ``None`` when the layer has no bias (the cell is hidden).
        filter_index, n_filters : int
            0-based index of the filter, and how many the layer has.
        channel_names : sequence of str
            Names of the ``Cg`` channels the kernels slide over, e.g. ``("R", "G", "B")``.
        """
        values = np.asarray(kernels, dtype=np.float64)
        names = tuple(str(n) for n in channel_names)
        if values.ndim != 3:
            raise ValueError(f"kernels must have shape (kh, kw, Cg), got {values.shape}")
        if len(names) != values.shape[2]:
            raise ValueError(f"{values.shape[2]} kernels but {len(names)} channel names")
        self._updating = True
        try:
            if (values.shape, names) != (self._shape, self._names):
                self._rebuild(values.shape, names)
            self._values = values
            n = filter_index + 1
            self._set_text(self._title, f"Filter {n} of {n_filters} · shape {values.shape}")
            for k, label in enumerate(self._labels):
                self._set_text(label, f"kernel {k + 1} of filter {n} · acts on {names[k]}")
            self._bias_row.setVisible(bias is not None)
            self._bias.setEnabled(bias is not None)
            self._show_values(float(bias) if bias is not None else None)
        finally:
            self._updating = False

    def set_value_range(self, vmax: float | None) -> None:
        """Value shown at full tint (e.g. shared by all filters); ``None``: from the data."""
        ok = vmax is not None and np.isfinite(vmax) and vmax > 0
        self._vmax_override = float(vmax) if ok else None
        if self._values is not None:
            self._show_values(self._bias.value if self._bias_row.isVisibleTo(self) else None)

    def cell(self, row: int, col: int, k: int) -> QLineEdit:
        """The cell editing ``kernels[row, col, k]``."""
        return self._cells[(row, col, k)]

    def bias_cell(self) -> QLineEdit:
        """The cell editing the bias."""
        return self._bias

    def current_cell(self) -> tuple[int, int, int] | None:
        """``(row, col, k)`` of the kernel cell with keyboard focus, if any."""
        cell = self.focusWidget()
        if isinstance(cell, _NumberCell) and cell.key is not None and cell.hasFocus():
            return cell.key
        return None

    def sizeHint(self) -> QSize:
        if not self._boxes:
            return QSize(420, 260)
        box = self._boxes[0].sizeHint()
        across = max(1, min(len(self._boxes), 3, 1000 // box.width()))  # a panel, not a screen
        down = min(-(-len(self._boxes) // across), 2)
        spacing, outer = self._grid.spacing(), self.layout().contentsMargins()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = across * (box.width() + spacing) - spacing + bar
        height = down * (box.height() + spacing) - spacing + 2 * self.layout().spacing()
        height += self._title.sizeHint().height() + self._bias_row.sizeHint().height()
        return QSize(width + outer.left() + outer.right(), height + outer.top() + outer.bottom())

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 160)

    def _make_cell(self, key: tuple[int, int, int] | None) -> _NumberCell:
        cell = _NumberCell(key, self._cell_font, self._cell_size)
        cell.committed.connect(self._on_committed)
        cell.rejected.connect(self._on_rejected)
        cell.nudged.connect(self._on_nudged)
        cell.dragFinished.connect(self._on_drag_finished)
        cell.moveRequested.connect(self._on_move)
        cell.focused.connect(self._on_focused)
        return cell

    def _rebuild(self, shape: tuple[int, int, int], names: tuple[str, ...]) -> None:
        if self._gesture is not None and self._gesture[0] is not self._bias:
            self._finish_gesture()
        for box in self._boxes:
            for cell in box.findChildren(_NumberCell):
                cell.blockSignals(True)  # leaving focus while dying must not commit
            self._grid.removeWidget(box)
            box.hide()
            box.deleteLater()
        self._cells.clear()
        self._boxes.clear()
        self._labels.clear()
        kh, kw, cg = shape
        for k in range(cg):
            box = QFrame(self._canvas)
            box.setFrameShape(QFrame.Shape.StyledPanel)
            box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            column = QVBoxLayout(box)
            label = QLabel()
            column.addWidget(label)
            cells = QGridLayout()
            cells.setSpacing(2)
            for r in range(kh):
                for c in range(kw):
                    cell = self._make_cell((r, c, k))
                    self._cells[(r, c, k)] = cell
                    cells.addWidget(cell, r, c)
            column.addLayout(cells)
            self._boxes.append(box)
            self._labels.append(label)
        chain = [*self._cells.values(), self._bias]  # dict order is reading order
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self._shape, self._names = shape, names
        self._columns = 0
        self._reflow()
        self.updateGeometry()

    def _reflow(self) -> None:
        """Wrap the kernel boxes into as many columns as the viewport width allows."""
        if not self._boxes:
            return
        spacing = self._grid.spacing()
        margins = self._grid.contentsMargins()
        free = self._scroll.viewport().width() - margins.left() - margins.right() + spacing
        columns = max(
            1, min(len(self._boxes), free // (self._boxes[0].sizeHint().width() + spacing))
        )
        if columns == self._columns:
            return
        self._columns = columns
        for i, box in enumerate(self._boxes):
            self._grid.addWidget(box, i // columns, i % columns)  # re-adding moves it

    def eventFilter(self, watched, event) -> bool:
        if watched is self._scroll.viewport() and event.type() == event.Type.Resize:
            self._reflow()
        return super().eventFilter(watched, event)

    @staticmethod
    def _set_text(label: QLabel, text: str) -> None:
        if label.text() != text:  # relabelling relayouts; skip it on every nudge echo
            label.setText(text)

    def _show_values(self, bias: float | None) -> None:
        values = self._values
        vmax = self._vmax_override or float(np.abs(values).max(initial=0.0)) or 1.0
        nested = values.tolist()
        for (r, c, k), cell in self._cells.items():
            cell.show_value(nested[r][c][k], vmax)
        if bias is not None:
            self._bias.show_value(bias, vmax)

    def _emit_value(self, cell: _NumberCell, value: float, signal: Signal) -> None:
        if cell.key is None:
            self.biasEdited.emit(value)
        else:
            signal.emit(*cell.key, value)

    def _on_committed(self, cell: _NumberCell, value: float) -> None:
        if self._updating:
            return
        self._finish_gesture()  # a typed edit is its own undo step
        # The model stores float32: retyping the displayed value is not a change.
        if np.float32(value) != np.float32(cell.value):
            self._emit_value(cell, value, self.valueEdited)

    def _on_rejected(self, cell: _NumberCell, message: str) -> None:
        if not self._updating:
            self.errorMessage.emit(message)

    def _on_nudged(self, cell: _NumberCell, delta: float, dragging: bool) -> None:
        if self._updating:
            return
        if cell.isModified():
            cell.revert()  # the nudge starts from the shown value, not half-typed text
        if self._gesture is None or self._gesture[:2] != (cell, dragging):
            self._finish_gesture()
            self._gesture = (cell, dragging, cell.value, 0.0)
        # Relative to the gesture's start, so bursts add up even if the echo is deferred.
        start, total = self._gesture[2], self._gesture[3] + delta
        self._gesture = (cell, dragging, start, total)
        value = max(-MAX_MAGNITUDE, min(MAX_MAGNITUDE, round(start + total, 6))) + 0.0
        if not dragging:
            self._idle.start()
        self._emit_value(cell, value, self.valueNudged)

    def _on_drag_finished(self, cell: _NumberCell) -> None:
        if self._gesture is not None and self._gesture[:2] == (cell, True):
            self._finish_gesture()

    def _finish_gesture(self) -> None:
        self._idle.stop()
        if self._gesture is not None:
            self._gesture = None
            self.nudgeFinished.emit()

    def _on_move(self, cell: _NumberCell, rows: int) -> None:
        if cell.key is None or self._shape is None:
            return
        r, c, k = cell.key
        target = self._cells[(max(0, min(self._shape[0] - 1, r + rows)), c, k)]
        if target is not cell:
            target.setFocus(Qt.FocusReason.OtherFocusReason)
            target.selectAll()

    def _on_focused(self, cell: _NumberCell) -> None:
        if cell is not self._bias:
            self._scroll.ensureWidgetVisible(cell, 8, 8)
