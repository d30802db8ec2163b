"""The number cells of a filter's kernels, and the intents they turn into signals: the
base of the kernel editor and of the presentation view's kernels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from convviz.core.numbers import MAX_MAGNITUDE
from convviz.qt.edit.number_cell import CELL_CHARS, WHEEL_IDLE_MS, NumberCell

__all__ = ["KernelCells", "cell_size"]


def cell_size(font: QFont, chars: int = CELL_CHARS) -> QSize:
    """Size of a number cell drawn in `font`: room for `chars` characters."""
    metrics = QFontMetrics(font)
    return QSize(
        max(56, metrics.horizontalAdvance("-" + "0" * (chars - 1)) + 16),
        max(32, metrics.height() + 14),
    )


class KernelCells(QWidget):
    """Base of the widgets that edit kernel numbers: it makes their number cells and turns
    the cells' intents into the signals below; a subclass lays the cells out.

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

    Esc in a cell with nothing to revert is not the cell's: it goes on to the window
    (to unpin a pixel, close a dock or leave the presentation view).
    """

    valueEdited = Signal(int, int, int, float)
    valueNudged = Signal(int, int, int, float)
    nudgeFinished = Signal()
    biasEdited = Signal(float)
    errorMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cells: dict[tuple[int, int, int], NumberCell] = {}
        self._shape: tuple[int, int, int] | None = None
        self._bias: NumberCell | None = None
        self._cell_font = QFont(self.font())
        self._cell_size = cell_size(self._cell_font)
        self._updating = False
        # Cells typed into, nudged or refused since the values were last shown: the next
        # echo must reach them even if their values did not change. None: every cell.
        self._touched: set[NumberCell] | None = None
        # Open nudge gesture: (cell, from a drag, value at its start, summed steps).
        self._gesture: tuple[NumberCell, bool, float, float] | None = None
        self._idle = QTimer(self, singleShot=True, interval=WHEEL_IDLE_MS)
        self._idle.timeout.connect(self._finish_gesture)

    def cell(self, row: int, col: int, k: int) -> QLineEdit:
        """The cell editing ``kernels[row, col, k]``."""
        return self._cells[(row, col, k)]

    def current_cell(self) -> tuple[int, int, int] | None:
        """``(row, col, k)`` of the kernel cell with keyboard focus, if any."""
        cell = self.focusWidget()
        if isinstance(cell, NumberCell) and cell.key is not None and cell.hasFocus():
            return cell.key
        return None

    def _make_cell(self, key: tuple[int, int, int] | None) -> NumberCell:
        cell = NumberCell(key, self._cell_font, self._cell_size)
        cell.committed.connect(self._on_committed)
        cell.rejected.connect(self._on_rejected)
        cell.nudged.connect(self._on_nudged)
        cell.dragFinished.connect(self._on_drag_finished)
        cell.moveRequested.connect(self._on_move)
        cell.focused.connect(self._on_focused)
        cell.installEventFilter(self)
        return cell

    def eventFilter(self, watched, event) -> bool:
        if (
            isinstance(watched, NumberCell)
            and event.type() == event.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
            and not watched.isModified()
            and self.window() is not self
        ):
            forwarded = QKeyEvent(event.type(), event.key(), event.modifiers())
            QApplication.sendEvent(self.window(), forwarded)
            return True
        return super().eventFilter(watched, event)

    def _touch(self, cell: NumberCell) -> None:
        if self._touched is not None:
            self._touched.add(cell)

    def _emit_value(self, cell: NumberCell, value: float, signal: Signal) -> None:
        if cell.key is None:
            self.biasEdited.emit(value)
        else:
            signal.emit(*cell.key, value)

    def _on_committed(self, cell: NumberCell, value: float) -> None:
        self._touch(cell)
        if self._updating:
            return
        self._finish_gesture()  # a typed edit is its own undo step
        # The model stores float32: retyping the displayed value is not a change.
        if np.float32(value) != np.float32(cell.value):
            self._emit_value(cell, value, self.valueEdited)

    def _on_rejected(self, cell: NumberCell, message: str) -> None:
        self._touch(cell)
        if not self._updating:
            self.errorMessage.emit(message)

    def _on_nudged(self, cell: NumberCell, delta: float, dragging: bool) -> None:
        self._touch(cell)
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

    def _on_drag_finished(self, cell: NumberCell) -> None:
        if self._gesture is not None and self._gesture[:2] == (cell, True):
            self._finish_gesture()

    def _finish_gesture(self) -> None:
        self._idle.stop()
        if self._gesture is not None:
            self._gesture = None
            self.nudgeFinished.emit()

    def _on_move(self, cell: NumberCell, rows: int) -> None:
        if cell.key is None or self._shape is None:
            return
        r, c, k = cell.key
        target = self._cells.get((max(0, min(self._shape[0] - 1, r + rows)), c, k))
        if target is not None and target is not cell:
            target.setFocus(Qt.FocusReason.OtherFocusReason)
            target.selectAll()

    def _on_focused(self, cell: NumberCell) -> None:
        """A cell got the keyboard focus (a subclass scrolls it into view)."""
