"""The questions the session manager asks the user, a part of it.

Every question goes through one method (``ask_unsaved``, ``ask_restore``,
``ask_open_path``, ``ask_save_path``, ``ask_lesson_text``, ``warn``) so tests can answer
instead of a person.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from convviz.io.session import SUFFIX
from convviz.qt.base.plain_text import plain
from convviz.qt.sessions.lesson_dock import LessonTextDialog

_FILTER = f"convviz sessions (*{SUFFIX});;All files (*)"


class Questions:
    """The dialogs of the session manager, replaced in tests (a mixin of
    :class:`~convviz.qt.sessions.manager.SessionManager`)."""

    def ask_unsaved(self) -> str:
        """'save', 'discard' or 'cancel'."""
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self.window,
            "Unsaved changes",
            plain(f"Save the changes to {self.display_name()} first?"),
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_restore(self, path: Path | None = None) -> bool:
        """Whether to restore recovery file ``path``; No deletes it."""
        when = ""
        if path is not None:
            modified = QtCore.QFileInfo(str(path)).lastModified()
            if modified.isValid():
                format_ = QtCore.QLocale.FormatType.ShortFormat
                when = f" at {QtCore.QLocale().toString(modified, format_)}"
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self.window,
            "Restore unsaved work?",
            "convviz did not close normally. Restore the work it saved automatically"
            f"{when}?\n\nIf you choose No, that work is deleted.",
            buttons.Yes | buttons.No,
            buttons.Yes,
        )
        return answer == buttons.Yes

    def ask_open_path(self, title: str = "Open a session") -> str | None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, title, "", _FILTER)
        return path or None

    def ask_save_path(self, title: str = "Save the session") -> str | None:
        start = str(self.path) if self.path else "untitled" + SUFFIX
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, start, _FILTER)
        return path or None

    def ask_lesson_text(self, initial: str) -> str | None:
        dialog = LessonTextDialog(self.window, initial)
        return dialog.text() if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted else None

    def warn(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self.window, title, plain(text))
