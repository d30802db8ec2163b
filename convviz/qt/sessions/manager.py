"""Sessions in the GUI: open, save, recent files, lessons, unsaved-changes prompts, recovery.

``install_sessions(window)`` adds the File and Lessons menu entries and the lesson dock,
restores the saved window layout and brush, and offers to restore the work an abnormal
exit left behind. :class:`SessionManager` is made of parts, one module each: opening and
saving files (:mod:`~convviz.qt.sessions.session_files`), the background writes
(:mod:`~convviz.qt.sessions.background_save`), the built-in lessons
(:mod:`~convviz.qt.sessions.lessons`), the recent sessions
(:mod:`~convviz.qt.sessions.recent`), autosave and crash recovery
(:mod:`~convviz.qt.sessions.recovery`), saved preferences
(:mod:`~convviz.qt.sessions.preferences`) and the questions to the user
(:mod:`~convviz.qt.sessions.questions`).
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.lessons import LESSONS
from convviz.io.atomic import remove_stale_temp_files
from convviz.io.file_names import display_name
from convviz.io.session import SUFFIX
from convviz.qt.sessions.background_save import BackgroundSaver
from convviz.qt.sessions.lesson_dock import LessonDock
from convviz.qt.sessions.lessons import Lessons, _lesson_name
from convviz.qt.sessions.preferences import Preferences, default_settings
from convviz.qt.sessions.questions import Questions
from convviz.qt.sessions.recent import RecentFiles
from convviz.qt.sessions.recovery import (
    _RECOVERY_NAME,
    AUTOSAVE_MS,
    Recovery,
    _try_lock,
    default_recovery_dir,
)
from convviz.qt.sessions.session_files import SessionFiles


def install_sessions(window, settings=None, recovery_dir=None) -> SessionManager:
    """Give ``window`` sessions, lessons, saved preferences and crash recovery.

    Parameters
    ----------
    window : MainWindow
    settings : QSettings, optional
        Default: :func:`default_settings`.
    recovery_dir : path, optional
        Where the recovery files live; default :func:`default_recovery_dir`.

    Returns
    -------
    SessionManager
    """
    manager = SessionManager(window, settings or default_settings(), recovery_dir)
    manager.restore_preferences()
    manager.offer_recovery()
    return manager


class SessionManager(
    SessionFiles, Lessons, RecentFiles, Recovery, Preferences, Questions, QtCore.QObject
):
    """The current session file of one window and everything that keeps it safe."""

    def __init__(self, window, settings: QtCore.QSettings, recovery_dir=None):
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.settings = settings
        self.path: Path | None = None
        # The file a save is being written to, until it is done.
        self._pending_path: Path | None = None
        self.lesson_text: str | None = None
        # True after restoring a recovery file: the work exists in no saved file yet.
        self.restored = False
        folder = Path(recovery_dir) if recovery_dir is not None else default_recovery_dir()
        self.recovery_dir = folder
        self.recovery_path = folder / f"recovery-{uuid.uuid4().hex[:12]}{SUFFIX}"
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        # Saves of recovery files killed midway (a crash, a power cut) left these behind.
        remove_stale_temp_files(folder, _RECOVERY_NAME)
        # Held while this instance runs: it marks the recovery file as a live instance's.
        self._lock = _try_lock(self.recovery_path)
        # A restored recovery file of a gone instance, with its lock held: deleted once this
        # instance's own recovery file (or a saved file) holds the work.
        self._adopted: tuple[Path, QtCore.QLockFile] | None = None
        self._closed = False
        self._pending_since: float | None = None
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(lambda: self.autosave_now(wait=False))
        self.saver = BackgroundSaver(self)

        self.dock = LessonDock(window)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.dock.stepRequested.connect(self.step_lesson)
        self._make_menus()
        self.controller.historyChanged.connect(self._on_history)
        self.controller.frameReady.connect(self._schedule_autosave)
        window.close_guards.append(self._close_guard)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._after_close)
        self._update_title()

    # -- menus ----------------------------------------------------------------------------
    def _make_menus(self) -> None:
        w = self.window
        menu, before = w.file_menu, w.quit_separator
        menu.insertSeparator(before)
        self.open_action = QtGui.QAction("Open &session…", w)
        # Ctrl+O opens an input image; a session gets the shifted shortcut.
        self.open_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+O"))
        self.open_action.triggered.connect(self.open_dialog)
        self.recent_menu = QtWidgets.QMenu("Open &recent session", w)
        self.save_action = QtGui.QAction("&Save session", w)
        keys = QtGui.QKeySequence.StandardKey
        self.save_action.setShortcuts(keys.Save)
        # From the menu and the keys a save is written in the background (see _write).
        self.save_action.triggered.connect(lambda: self.save(wait=False))
        self.save_as_action = QtGui.QAction("Save session &as…", w)
        # The platform's Save As keys; some platforms define none, so Ctrl+Shift+S then.
        save_as = QtGui.QKeySequence.keyBindings(keys.SaveAs)
        self.save_as_action.setShortcuts(save_as or [QtGui.QKeySequence("Ctrl+Shift+S")])
        self.save_as_action.triggered.connect(lambda: self.save_as(wait=False))
        menu.insertAction(before, self.open_action)
        menu.insertMenu(before, self.recent_menu)
        menu.insertAction(before, self.save_action)
        menu.insertAction(before, self.save_as_action)
        self._rebuild_recent()

        lessons = self.lessons_menu = QtWidgets.QMenu("&Lessons", w)
        w.menuBar().insertMenu(w.help_menu.menuAction(), lessons)
        for i, lesson in enumerate(LESSONS):
            lessons.addAction(lesson.title, lambda i=i: self.open_lesson(i))
        lessons.addSeparator()
        lessons.addAction("Save as lesson…", lambda: self.save_as_lesson(wait=False))
        lessons.addAction(self.dock.toggleViewAction())

    # -- state ------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return self.restored or not self.controller.history.is_clean

    def display_name(self) -> str:
        """The file's name; for a built-in lesson not saved yet, the lesson's title."""
        if self.path:
            return display_name(self.path)
        if self.dock.index >= 0:
            return _lesson_name(self.dock.index)
        return "untitled" + SUFFIX

    def _update_title(self) -> None:
        self.window.setWindowTitle(f"convviz — {self.display_name()}[*]")
        self.window.setWindowModified(self.modified)

    def _on_history(self) -> None:
        self._update_title()
        self._schedule_autosave()

    def _view(self) -> dict:
        brush = self.window.brush
        view = {"brush": {"radius": brush.radius.value(), "value": brush.value.value()}}
        if self.dock.index >= 0:  # saved from a built-in lesson: reopened as that lesson
            view["lesson_index"] = self.dock.index
        return view

    def _apply_view(self, view: dict) -> None:
        brush = view.get("brush")
        if isinstance(brush, dict):
            for key in ("radius", "value"):
                if isinstance(brush.get(key), int | float) and not isinstance(brush[key], bool):
                    getattr(self.window.brush, key).setValue(float(brush[key]))

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to replace or close the document.

        A save still being written is finished first, so its work does not count as unsaved.
        """
        self.saver.wait()
        if not self.modified:
            return True
        training = getattr(self.window, "training", None)
        if training is not None:  # no steps while the question is open
            training.pause()
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save(wait=True)
        return answer == "discard"

    # -- closing ------------------------------------------------------------------------------
    def _close_guard(self) -> bool:
        if not self.maybe_save():
            return False
        # Another guard may still cancel the close: clean up once the window is really gone.
        QtCore.QTimer.singleShot(0, self._after_close)
        return True

    def _after_close(self) -> None:
        if self._closed or self.window.isVisible():
            return
        self._closed = True
        self.autosave_timer.stop()
        self.saver.wait()  # a write still running must not bring the file back
        self.save_preferences()
        self._remove_recovery()
        self._release_adopted()
        if self._lock is not None:
            self._lock.unlock()
