"""The lesson text beside the views, with Previous / Next to walk through lessons in class."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from convviz.qt.views import ok_cancel

# Read from the back of a classroom: larger than the rest of the UI.
TEXT_STYLE = "font-size: 15pt;"


class LessonText(QtWidgets.QTextBrowser):
    """A lesson's explanation (Markdown or plain text), read-only.

    Every view that shows lesson text uses this widget, so they all render it alike.
    """

    def show_markdown(self, text: str | None) -> None:
        self.setMarkdown(text or "")


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
        self.text.setOpenExternalLinks(False)
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
