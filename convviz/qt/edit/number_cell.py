"""One editable kernel number: typing, nudging by wheel, drag or Page keys, tinted by value."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLineEdit

from convviz.core.numbers import NUDGE_STEP, format_number, parse_number
from convviz.qt.base.colour_maps import readable_text
from convviz.qt.base.safe_paint import never_raises
from convviz.qt.base.views import diverging_colormap, diverging_rgb

_FOCUS = QColor(20, 20, 20)
_ERROR = QColor(230, 0, 0)
_DRAG_THRESHOLD = 4  # px before a press becomes a drag; below it, clicks just place the cursor
_DRAG_STEP_PX = 8
WHEEL_IDLE_MS = 400
_ERROR_MS = 1500
CELL_CHARS = 7  # "-0.0625", "-0.111", "1e-04": fits a 3-significant-digit value
HOW_TO_EDIT = (
    "Type a number (-1.5, 1e-3, 1/9) and press Enter.\n"
    "Scroll, drag up or down, or press Page Up/Down to nudge it by 0.1 (Shift ×10, Ctrl ÷10)."
)
# Switching windows or opening the context menu is not "done editing".
_STILL_EDITING = (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason)


def weight_text(value: float) -> str:
    """A kernel value or bias as the window shows it, in its cell and in any label."""
    return format_number(value, 3, max_chars=CELL_CHARS)


def _tint(value: float, vmax: float) -> QColor:
    """The chosen diverging map's colour: white at zero, its ends at |value| >= vmax."""
    t = value / vmax if math.isfinite(vmax) and vmax > 0 else value
    t = 0.0 if math.isnan(t) else max(-1.0, min(1.0, t))
    return QColor(*diverging_rgb(0.5 + 0.5 * t))


def _step(modifiers: Qt.KeyboardModifier) -> float:
    step = NUDGE_STEP
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        step *= 10
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        step /= 10
    return step


class NumberCell(QLineEdit):
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
        self._tip_stale = True
        self._vmax: float | None = None
        self._cmap = None  # the colour map the tint was taken from
        self._shown = "0"
        self._bg = QColor(Qt.GlobalColor.white)
        self._errors = 0  # error flashes still showing
        self._press_y: float | None = None
        self._press_x = 0.0
        self._drag_steps = 0
        self._dragging = False
        self._wheel_rest = 0
        # Focus came from a click: the press selects the whole value, as in a spreadsheet.
        self._select_on_press = False
        self._place = "bias" if key is None else "kernel value"
        self.setAccessibleDescription(HOW_TO_EDIT)
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

    def describe(self, place: str) -> None:
        """Name what the cell holds, e.g. "filter 1, kernel 2 (G), row 1, column 3", for
        screen readers and the tooltip."""
        if place != self._place:
            self._place = place
            self.setAccessibleName(place)
            self._update_tooltip()

    def _update_tooltip(self) -> None:
        # Set when it is asked for: setting it on every echo took half of the echo's time.
        self._tip_stale = True

    def toolTip(self) -> str:  # noqa: N802 (Qt's name)
        if self._tip_stale:
            self._tip_stale = False
            self.setToolTip(f"{self._place} = {format_number(self.value, 7)}\n{HOW_TO_EDIT}")
        return super().toolTip()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._tip_stale:
            self.toolTip()  # Qt reads the tooltip it holds, not this method
        return super().event(event)

    def show_value(self, value: float, vmax: float) -> None:
        """Display ``value`` without disturbing a half-typed edit or the cursor."""
        # Most echoes change one cell of hundreds: skip the rest cheaply.
        cmap = diverging_colormap()
        if value != self.value or vmax != self._vmax or cmap is not self._cmap:
            if repr(value) != repr(self.value):  # -0.0 and NaN included
                self.value = value
                self._shown = weight_text(value)
                self._update_tooltip()
            self._vmax, self._cmap = vmax, cmap
            bg = _tint(value, vmax)
            if bg != self._bg:
                self._bg = bg
                fg = readable_text(bg)
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
        self.setText(weight_text(value))
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
        self._select_on_press = event.reason() == Qt.FocusReason.MouseFocusReason
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
        if self._select_on_press:  # the click that entered the cell: typing replaces
            self._select_on_press = False
            self.selectAll()

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.selectAll()  # the whole number, sign and exponent too, not a "word" of it
        else:
            super().mouseDoubleClickEvent(event)

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

    @never_raises
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
