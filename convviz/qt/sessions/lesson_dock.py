"""The lesson text beside the views, with Previous / Next to walk through lessons in class."""

from __future__ import annotations

import base64
import binascii
import logging
import urllib.parse

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.qt.base.views import ok_cancel

log = logging.getLogger(__name__)

# Read from the back of a classroom: larger than the rest of the UI.
TEXT_STYLE = "font-size: 15pt;"

# Images a lesson may embed as data: URIs, and their limits, checked before decoding.
IMAGE_TYPES = {"image/png": b"png", "image/jpeg": b"jpeg", "image/gif": b"gif", "image/bmp": b"bmp"}
MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGE_SIDE = 2048
LINK_SCHEMES = ("http", "https")


def _placeholder() -> QtGui.QImage:
    """What stands in for an image that is not shown: a grey box, crossed out."""
    image = QtGui.QImage(24, 24, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor(225, 225, 225))
    painter = QtGui.QPainter(image)
    painter.setPen(QtGui.QPen(QtGui.QColor(120, 120, 120), 2))
    painter.drawRect(1, 1, 21, 21)
    painter.drawLine(4, 4, 19, 19)
    painter.drawLine(19, 4, 4, 19)
    painter.end()
    return image


def embedded_image(url: QtCore.QUrl) -> tuple[QtGui.QImage | None, str]:
    """The image a ``data:`` URL holds, or None and why it is not shown.

    Only PNG, JPEG, GIF and BMP data up to `MAX_IMAGE_BYTES`, whose header says at most
    `MAX_IMAGE_SIDE` pixels a side, are decoded; nothing is read from a file or network.
    """
    if url.scheme().lower() != "data":
        return None, "only images embedded in the lesson (data: URIs) are shown"
    encoded = bytes(url.toEncoded())[len(b"data:") :]
    header, comma, payload = encoded.partition(b",")
    if not comma:
        return None, "not a data: URI"
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return None, f"embedded image larger than {MAX_IMAGE_BYTES // 1_000_000} MB"
    kind, *params = header.decode("ascii", "replace").lower().split(";")
    if kind not in IMAGE_TYPES:
        return None, f"embedded data of type {kind or 'unknown'!r} is not an image shown"
    try:
        data = urllib.parse.unquote_to_bytes(payload)
        if "base64" in params:
            data = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None, "embedded image is not valid base64"
    buffer = QtCore.QBuffer()
    buffer.setData(QtCore.QByteArray(data))
    buffer.open(QtCore.QIODevice.OpenModeFlag.ReadOnly)
    reader = QtGui.QImageReader(buffer, IMAGE_TYPES[kind])
    size = reader.size()
    if not size.isValid() or size.isEmpty():
        return None, "embedded image cannot be read"
    if max(size.width(), size.height()) > MAX_IMAGE_SIDE:
        return None, f"embedded image of {size.width()}×{size.height()} pixels is too large"
    image = reader.read()
    if image.isNull():
        return None, f"embedded image cannot be read: {reader.errorString()}"
    return image, ""


class _LessonDocument(QtGui.QTextDocument):
    """A document that never reads a file or URL for an image, style sheet or page.

    Qt's own loader reads any local path the text names (``![x](/dev/zero)`` grows
    memory without end, a FIFO blocks forever) and, when a resource comes back empty,
    its image handler tries to read the file itself. So every request gets an answer
    here: an embedded image, or a placeholder; empty text for anything else.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.refused: dict[str, str] = {}  # why each image the text names is not shown
        self._placeholder = None

    def clear(self):
        super().clear()
        self.refused.clear()

    def loadResource(self, kind, url):
        if kind != QtGui.QTextDocument.ResourceType.ImageResource:
            return ""
        try:
            image, why = embedded_image(url)
        except Exception as exc:  # called from Qt's layout code: must not raise
            image, why = None, f"embedded image cannot be read: {exc}"
        if image is None:
            name = url.toString()[:80]
            if name not in self.refused:
                log.info("lesson image %s not shown: %s", name, why)
            self.refused[name] = why
            if self._placeholder is None:
                self._placeholder = _placeholder()
            image = self._placeholder
        self.addResource(kind, url, image)  # asked once per image, not on every layout
        return image


class LessonText(QtWidgets.QTextBrowser):
    """A lesson's explanation (Markdown or plain text), read-only.

    Every view that shows lesson text uses this widget, so they all render it alike.
    Lesson files are untrusted: rendering reads no file or URL (images only from
    ``data:`` URIs inside the text, size-bounded), and a clicked link opens in the
    browser only when it is http(s); the text is never replaced by what a link names.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        # Held here too: document() may hand back the wrapper of a deleted document that
        # lived at the same address.
        self._document = _LessonDocument(self)
        self.setDocument(self._document)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._open_link)

    @property
    def refused(self) -> dict[str, str]:
        """Why each image the text names is not shown, by its (shortened) URL."""
        return self._document.refused

    def show_markdown(self, text: str | None) -> None:
        self._document.clear()  # also drops the images of the text shown before
        self.setMarkdown(text or "")

    def _open_link(self, url: QtCore.QUrl) -> None:
        if url.scheme().lower() in LINK_SCHEMES and url.host():
            QtGui.QDesktopServices.openUrl(url)
        else:
            log.info("lesson link %s not opened: only http(s) links are", url.toString()[:80])


class LessonDock(QtWidgets.QDockWidget):
    """Shows a lesson's explanation (Markdown or plain text).

    ``index`` is the built-in lesson shown, or -1 for a lesson from a file; Previous /
    Next emit ``stepRequested(-1 / +1)`` and the session manager opens that lesson.
    ``changed`` follows every new text or position, for other views of the lesson; while
    ``held`` one of them shows the text, and the dock stays hidden.
    """

    stepRequested = QtCore.Signal(int)
    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__("Lesson", parent)
        self.setObjectName("lesson_dock")
        self.index = -1
        self._count = 0
        self.markdown: str | None = None
        self.held = False
        box = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(box)
        self.text = LessonText()
        self.text.setStyleSheet(TEXT_STYLE)
        lay.addWidget(self.text, 1)
        self.previous_button = QtWidgets.QPushButton("◀ Previous")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.position = QtWidgets.QLabel()
        self.position.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        for button in (self.previous_button, self.next_button):
            button.setStyleSheet(TEXT_STYLE)
        self.position.setStyleSheet(TEXT_STYLE)
        self.previous_button.clicked.connect(lambda: self.stepRequested.emit(-1))
        self.next_button.clicked.connect(lambda: self.stepRequested.emit(1))
        # The position above the buttons, so that the dock can be narrow.
        lay.addWidget(self.position)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.previous_button)
        row.addStretch(1)
        row.addWidget(self.next_button)
        lay.addLayout(row)
        self.setWidget(box)
        self.setMinimumWidth(250)

    def show_lesson(self, text: str | None) -> None:
        """Show ``text`` (hide the dock when there is none); not a built-in lesson."""
        self.index = -1
        self.markdown = text
        self.text.show_markdown(text)
        self._update_buttons()
        self.setVisible(bool(text) and not self.held)
        self.changed.emit()

    def set_position(self, index: int, count: int) -> None:
        """Mark the text shown as built-in lesson ``index`` of ``count``."""
        self.index, self._count = index, count
        self._update_buttons()
        self.changed.emit()

    def _update_buttons(self) -> None:
        builtin = self.index >= 0
        self.previous_button.setEnabled(builtin and self.index > 0)
        self.next_button.setEnabled(not builtin or self.index < self._count - 1)
        self.position.setText(f"lesson {self.index + 1} of {self._count}" if builtin else "")


class LessonTextDialog(QtWidgets.QDialog):
    """Asks for the explanation saved with a lesson."""

    def __init__(self, parent=None, initial: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Save as lesson")
        lay = QtWidgets.QVBoxLayout(self)
        hint = QtWidgets.QLabel(
            "The explanation shown beside the views when this lesson is opened "
            "(plain text or Markdown; a first line '## Title' makes a heading):"
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.editor = QtWidgets.QPlainTextEdit(initial)
        lay.addWidget(self.editor, 1)
        buttons = ok_cancel(self)
        lay.addWidget(buttons)
        self.resize(640, 420)

    def text(self) -> str:
        return self.editor.toPlainText()
