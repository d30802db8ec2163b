"""The status bar: a message for several seconds, beside the hovered value and the shapes.

Messages ("Saved …", "Downscaled from …", "Autosave failed …") are the bar's own
temporary messages, drawn from its left edge; the hovered value and the kernel tensor's
shape are permanent widgets on the right that never take a message's room: each shows as
much of its text as its share allows, ending in "…", and the shapes step aside while a
message is shown.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.qt.base.safe_paint import never_raises

# Shares of the bar's width: without a message, the hovered value and the shapes; with
# one, the least the hovered value keeps however long the message is.
HOVER_SHARE, SHAPE_SHARE, HOVER_BESIDE_MESSAGE = 0.55, 0.45, 0.3


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that asks for no more than `limit` pixels and draws what fits.

    ``text()`` stays the whole text, and the tooltip shows it.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.limit = 10_000
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def natural_width(self) -> int:
        return self.fontMetrics().horizontalAdvance(self.text()) + 8 if self.text() else 0

    def set_limit(self, pixels: int) -> None:
        pixels = max(int(pixels), 0)
        if pixels != self.limit:
            self.limit = pixels
            self.updateGeometry()

    def setText(self, text: str) -> None:
        if text == self.text():
            return
        super().setText(text)
        self.setToolTip(text)
        self.updateGeometry()

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(min(self.natural_width(), self.limit), super().sizeHint().height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    @never_raises
    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        rect = self.contentsRect().adjusted(4, 0, -4, 0)
        elide = QtCore.Qt.TextElideMode.ElideRight
        shown = self.fontMetrics().elidedText(self.text(), elide, rect.width())
        painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        painter.drawText(rect, int(self.alignment()), shown)
        painter.end()


class StatusLine(QtCore.QObject):
    """Shares the status bar's width between the message, the hovered value and the shapes."""

    def __init__(self, bar: QtWidgets.QStatusBar):
        super().__init__(bar)
        self.bar = bar
        self.hover_label = ElidedLabel()
        self.shape_label = ElidedLabel()
        bar.addPermanentWidget(self.hover_label)
        bar.addPermanentWidget(self.shape_label)
        bar.messageChanged.connect(lambda _text: self.fit())
        bar.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.bar and event.type() == QtCore.QEvent.Type.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        """Give each part its share of the bar's current width."""
        room = self.bar.width() - 24  # margins and the size grip
        message = self.bar.currentMessage()
        self.shape_label.setVisible(not message and bool(self.shape_label.text()))
        if message:
            needed = self.bar.fontMetrics().horizontalAdvance(message) + 24
            self.hover_label.set_limit(max(room * HOVER_BESIDE_MESSAGE, room - needed))
        else:
            self.hover_label.set_limit(room * HOVER_SHARE)
            self.shape_label.set_limit(room * SHAPE_SHARE)


def install_status_line(window) -> StatusLine:
    """Give `window` its status line: ``window.hover_label`` and ``window.shape_label``."""
    line = StatusLine(window.statusBar())
    window.status_line = line
    window.hover_label, window.shape_label = line.hover_label, line.shape_label
    return line
