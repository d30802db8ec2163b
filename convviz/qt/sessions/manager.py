"""Sessions in the GUI: open, save, recent files, lessons, unsaved-changes prompts, recovery.

``install_sessions(window)`` adds the File and Lessons menu entries and the lesson dock,
restores the saved window layout and brush, and offers to restore the work an abnormal
exit left behind. While the app runs, the document is autosaved about two seconds after
each change to a recovery file of this instance's own (``recovery-<id>.convviz``); a
normal close deletes it. Each instance holds a lock file next to its recovery file for as
long as it runs, so a new instance offers only the files of instances that are gone, and
never deletes or overwrites the work of one that is still running.

Every question to the user goes through one method (``ask_unsaved``, ``ask_restore``,
``ask_open_path``, ``ask_save_path``, ``ask_lesson_text``, ``warn``) so tests can answer
instead of a person.
"""

from __future__ import annotations

import contextlib
import os
import re
import urllib.parse
import uuid
from concurrent.futures import Future
from pathlib import Path
from time import monotonic

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.lessons import LESSONS, lesson_path
from convviz.io.atomic import remove_stale_temp_files
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError
from convviz.io.session import SUFFIX, load_session, save_session
from convviz.qt.base.colour_maps import COLOUR_MAPS
from convviz.qt.base.plain_text import plain
from convviz.qt.base.workers import background_executor
from convviz.qt.sessions.lesson_dock import LessonDock, LessonTextDialog

MAX_RECENT = 8
AUTOSAVE_MS = 2000
# During a continuous change (training, a long paint session) autosave anyway this often.
AUTOSAVE_MAX_DELAY_S = 10.0
# Recovery files are "recovery-<id>.convviz"; earlier versions shared one "recovery.convviz",
# which the pattern matches too, so work such a version left behind is still offered.
RECOVERY_PATTERN = "recovery*" + SUFFIX
_RECOVERY_NAME = r"recovery[^/]*" + re.escape(SUFFIX)  # the same, as a regular expression
LOCK_SUFFIX = ".lock"
_FILTER = f"convviz sessions (*{SUFFIX});;All files (*)"


def default_settings() -> QtCore.QSettings:
    """The app's QSettings, or an INI file named by ``CONVVIZ_SETTINGS_FILE`` (tests)."""
    path = os.environ.get("CONVVIZ_SETTINGS_FILE")
    if path:
        return QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings("convviz", "convviz")


def default_recovery_dir() -> Path:
    """``CONVVIZ_RECOVERY_DIR`` if set, else the app's data folder."""
    folder = os.environ.get("CONVVIZ_RECOVERY_DIR") or QtCore.QStandardPaths.writableLocation(
        QtCore.QStandardPaths.StandardLocation.AppDataLocation
    )
    return Path(folder)


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


class SessionManager(QtCore.QObject):
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

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):  # QSettings returns a lone entry as a string
            value = [value]
        return [_from_setting(str(v)) for v in (value or [])][:MAX_RECENT]

    def _remember(self, path: Path) -> None:
        entry = str(Path(path).absolute())
        recent = [entry] + [r for r in self.recent_files() if r != entry]
        self.settings.setValue("recent", [_to_setting(r) for r in recent[:MAX_RECENT]])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for entry in recent:
            self.recent_menu.addAction(display_name(entry), lambda e=entry: self.open_recent(e))
            self.recent_menu.actions()[-1].setToolTip(plain(display_name(entry, full=True)))
        self.recent_menu.setEnabled(bool(recent))

    def open_recent(self, entry: str) -> bool:
        """Open a recent session; one that no longer exists leaves the list, with a message."""
        if not Path(entry).is_file():
            kept = [_to_setting(r) for r in self.recent_files() if r != entry]
            self.settings.setValue("recent", kept)
            self._rebuild_recent()
            self.window.show_message(
                f"{display_name(entry)} no longer exists; removed from the list"
            )
            return False
        return self.open_session(entry)

    # -- questions (replaced in tests) --------------------------------------------------------
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

    # -- open -----------------------------------------------------------------------------
    def open_dialog(self) -> None:
        if self.maybe_save():
            path = self.ask_open_path()
            if path:
                self._open(Path(path), remember=True)

    def open_session(self, path) -> bool:
        """Open a session file (asking about unsaved changes first); False if not opened."""
        return self.maybe_save() and self._open(Path(path), remember=True)

    def open_lesson(self, index: int) -> bool:
        """Open built-in lesson ``index`` (of ``LESSONS``) and show its text."""
        if not self.maybe_save():
            return False
        opened = self._open(lesson_path(LESSONS[index]), remember=False)
        if opened:
            # A built-in lesson is a starting point: Save must not write into the app.
            self.path = None
            self.dock.set_position(index, len(LESSONS))
            self._update_title()
        return opened

    def step_lesson(self, delta: int) -> None:
        index = self.dock.index + delta
        if 0 <= index < len(LESSONS):
            self.open_lesson(index)

    def _load(self, path: Path, failure: str):
        """Open session file ``path`` into the window; its session, or None after saying
        why (under the title ``failure``) with the current work untouched."""
        try:
            session = load_session(path)
            self.controller.open_state(session.state)
        except (InputError, ValueError) as exc:
            self.warn(failure, str(exc))
            return None
        self.lesson_text = session.lesson
        self._apply_view(session.view)
        self.dock.show_lesson(session.lesson)
        index = session.view.get("lesson_index")
        if session.lesson and type(index) is int and 0 <= index < len(LESSONS):
            self.dock.set_position(index, len(LESSONS))
        self._new_scene()
        return session

    def _new_scene(self) -> None:
        """Nothing of the last document's inspection carries over to the one just opened:
        no pinned pixel, muted kernel or sliding window, no preset shown as chosen."""
        inspector = getattr(self.window, "inspector", None)
        if inspector is not None:
            inspector.new_scene()
        self.window.layer_panel.clear_preset()

    def _open(self, path: Path, remember: bool) -> bool:
        if self._load(path, "Cannot open this session") is None:
            return False
        self.path = path if remember else None
        self.restored = False
        self.controller.history.set_clean()
        if remember:
            self._remember(path)
        self._update_title()
        self.window.show_message(f"Opened {display_name(path)}")
        return True

    # -- save -----------------------------------------------------------------------------
    def save(self, wait: bool = True) -> bool:
        """Save to the current file (asking for one if there is none).

        ``wait`` True: True once saved. False (the menu and keys): True once the copy to
        write is taken; the result is told when the write is done (see :meth:`_write`).
        """
        # While a first save is being written, Save again goes to the same file.
        path = self.path or self._pending_path
        if path is None:
            return self.save_as(wait=wait)
        return self._write(path, self.lesson_text, wait)

    def save_as(self, path=None, wait: bool = True) -> bool:
        path = path or self.ask_save_path()
        return bool(path) and self._write(_with_suffix(path), self.lesson_text, wait)

    def save_as_lesson(self, path=None, text=None, wait: bool = True) -> bool:
        """Save the current session with an explanation text, shown when it is opened."""
        text = text if text is not None else self.ask_lesson_text(self.lesson_text or "")
        if text is None:
            return False
        path = path or self.ask_save_path("Save as lesson")
        if not path:
            return False
        return self._write(_with_suffix(path), text.strip() or None, wait, as_lesson=True)

    def _write(self, path: Path, lesson, wait: bool, as_lesson: bool = False) -> bool:
        """Save the document to ``path``: copied here, written on the worker thread.

        The window stays responsive while a large document is written. The file, the
        title's unsaved mark and the recent list change only when the write succeeded;
        a failure is told in a dialog naming the file, with the work untouched. Edits made
        while the copy is written stay marked unsaved (the file holds the copy). Saving
        the same file again while a write runs replaces the one waiting, not queued.
        ``wait`` True blocks until written; True then means saved.
        """
        self.controller.abort_stroke()
        job = _SaveJob(
            path,
            self.controller.network_state(reader=True),
            self._view(),
            lesson,
            self._saved,
            explicit=True,
        )
        job.version = self.controller.version
        job.as_lesson = as_lesson
        self._pending_path = path
        self.saver.submit(job)
        self.window.show_message(f"Saving {display_name(path)}…")
        if not wait:
            return True
        self.saver.wait()
        return job.error is None

    def _saved(self, job: _SaveJob) -> None:
        """On the GUI thread, after an explicit save finished (or failed)."""
        path = job.path
        if self._pending_path == path and not self.saver.waits_for(path):
            self._pending_path = None
        if job.error is not None:
            exc = job.error
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.window.show_message(f"Not saved: {display_name(path)}")
            self.warn("Cannot save the session", f"{display_name(path)}: {reason}")
            return
        # Saves into this folder that were killed midway left their temporary files.
        remove_stale_temp_files(path.parent, rf"[^/]*(?i:{re.escape(SUFFIX)})")
        self.path = path
        self.restored = False
        if job.as_lesson:
            self.lesson_text = job.lesson
            self.dock.show_lesson(job.lesson)
        if self.controller.version == job.version:
            self.controller.history.set_clean()
        self._remember(path)
        self._update_title()
        self.window.show_message(f"Saved {display_name(path)}")

    # -- recovery ---------------------------------------------------------------------------
    def _schedule_autosave(self, *_args) -> None:
        if self._closed:
            return
        now = monotonic()
        if self._pending_since is None:
            self._pending_since = now
        if now - self._pending_since < AUTOSAVE_MAX_DELAY_S or not self.autosave_timer.isActive():
            self.autosave_timer.start()

    def autosave_now(self, wait: bool = True) -> None:
        """Write the recovery file (or delete it when nothing is unsaved).

        The document is copied here, on the GUI thread, and written on a worker thread;
        ``wait`` False (the autosave timer) returns at once, so painting goes on while a
        large document is written. A write that is still running when the next is due is
        not queued behind: the next one replaces any waiting one (the newest copy wins).
        """
        self.autosave_timer.stop()
        self._pending_since = None
        if not self.modified:
            self.saver.submit(_SaveJob(self.recovery_path, None, None, None, self._autosaved))
        else:
            view = dict(self._view(), path=str(self.path) if self.path else None)
            job = _SaveJob(
                self.recovery_path,
                self.controller.network_state(reader=True),  # copies of the arrays
                view,
                self.lesson_text,
                self._autosaved,
            )
            self.saver.submit(job)
        if wait:
            self.saver.wait()

    def _autosaved(self, job: _SaveJob) -> None:
        """On the GUI thread, after a recovery write (or removal) finished."""
        if job.error is not None:
            exc = job.error
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.window.show_message(f"Autosave failed: {display_name(job.path)}: {reason}")
            return
        self._release_adopted()

    def offer_recovery(self) -> bool:
        """Offer the work of instances that did not close normally; True if one was restored.

        Their recovery files are offered one at a time, newest first, until one is
        restored; a declined or damaged one is deleted. Files left after the restored one
        stay for a later start (one window holds one document). The files of running
        instances are never offered.
        """
        self._remove_orphaned_locks()
        candidates = self._recovery_files()
        for i, path in enumerate(candidates):
            lock = _try_lock(path)
            if lock is None:  # its instance runs, or another new one is offering it
                continue
            if not path.exists():  # restored and deleted by another instance meanwhile
                lock.unlock()
                continue
            if self._restore(path):
                more = sum(_is_orphaned(p) for p in candidates[i + 1 :])
                later = f"; {more} more will be offered at the next start" if more else ""
                self.window.show_message(f"Restored unsaved work (not saved yet){later}")
                self._adopted = (path, lock)
                # Cover the work with this instance's own recovery file before the
                # adopted one is deleted; if that fails, the adopted one stays.
                self.autosave_now()
                return True
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            lock.unlock()
        return False

    def _restore(self, path: Path) -> bool:
        """Ask, then open recovery file ``path`` as unsaved work; True if restored."""
        if not self.ask_restore(path):
            return False
        session = self._load(path, "Cannot restore the unsaved work")
        if session is None:
            return False
        saved_as = session.view.get("path")
        self.path = Path(saved_as) if isinstance(saved_as, str) else None
        self.restored = True
        self._update_title()
        return True

    def _recovery_files(self) -> list[Path]:
        """The recovery files in the folder except this instance's own, newest first."""
        found = []
        with contextlib.suppress(OSError):
            for path in self.recovery_dir.glob(RECOVERY_PATTERN):
                if path != self.recovery_path:
                    with contextlib.suppress(OSError):
                        found.append((path.stat().st_mtime, path))
        return [path for _, path in sorted(found, reverse=True)]

    def _remove_orphaned_locks(self) -> None:
        """Delete the locks of gone instances that left no recovery file."""
        with contextlib.suppress(OSError):
            for lock_path in self.recovery_dir.glob(f"recovery*{LOCK_SUFFIX}"):
                if not lock_path.with_suffix(SUFFIX).exists():
                    lock = _try_lock(lock_path)
                    if lock is not None:
                        lock.unlock()

    def _remove_recovery(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.recovery_path.unlink()

    def _release_adopted(self) -> None:
        """Delete the restored recovery file, now that its work is safe elsewhere."""
        if self._adopted is not None:
            path, lock = self._adopted
            self._adopted = None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            lock.unlock()

    # -- preferences and closing ---------------------------------------------------------------
    def restore_preferences(self) -> None:
        s, w = self.settings, self.window
        geometry, state = s.value("window/geometry"), s.value("window/state")
        # Qt refuses a geometry saved on a very different screen; one it takes may still
        # not fit this screen (a laptop last used with a large monitor, now a projector).
        if isinstance(geometry, QtCore.QByteArray) and w.restoreGeometry(geometry):
            w.keep_on_screen()
        elif not w.isVisible():  # a first start; a window already shown keeps its size
            w.fit_to_screen()
        if isinstance(state, QtCore.QByteArray):
            w.restoreState(state)
        for key, box in (("brush/radius", w.brush.radius), ("brush/value", w.brush.value)):
            with contextlib.suppress(TypeError, ValueError):
                value = s.value(key)
                if value is not None:
                    box.setValue(float(value))
        self._restore_view_preferences()

    def save_preferences(self) -> None:
        s, w = self.settings, self.window
        s.setValue("window/geometry", w.saveGeometry())
        s.setValue("window/state", w.saveState())
        s.setValue("brush/radius", w.brush.radius.value())
        s.setValue("brush/value", w.brush.value.value())
        self._save_view_preferences()
        s.sync()

    def _colour_map_actions(self) -> dict:
        """The View menu's colour-map entries by map name (each entry ends in its name)."""
        found = {}
        for action in _menu_actions(self.window.view_menu):
            for name in COLOUR_MAPS:
                if action.isCheckable() and action.text().endswith(f"· {name}"):
                    found[name] = action
        return found

    def _save_view_preferences(self) -> None:
        s, w = self.settings, self.window
        inspector = getattr(w, "inspector", None)
        s.setValue("view/keep_alpha", w.alpha_action.isChecked())
        if inspector is None:
            return
        s.setValue("view/numbers", inspector.numbers_action.isChecked())
        presentation = getattr(w, "presentation", None)
        if presentation is not None:
            s.setValue("view/text_size", int(presentation.text_size))
        chosen = [n for n, a in self._colour_map_actions().items() if a.isChecked()]
        if chosen:
            s.setValue("view/colour_map", chosen[0])

    def _restore_view_preferences(self) -> None:
        """Colour map, lesson text size, numbers on cells and keep alpha of the last run,
        through the setters the menus call; a value this version does not know is skipped."""
        s, w = self.settings, self.window
        # The window layout may show the lesson dock of the last run: no lesson is open yet.
        self.dock.setVisible(bool(self.lesson_text))
        alpha = _flag(s.value("view/keep_alpha"))
        if alpha is not None:
            w.alpha_action.setChecked(alpha)
        inspector = getattr(w, "inspector", None)
        if inspector is None:
            return
        numbers = _flag(s.value("view/numbers"))
        if numbers is not None:
            inspector.numbers_action.setChecked(numbers)
        name = s.value("view/colour_map")
        actions = self._colour_map_actions()
        if name in actions:
            inspector.set_colour_map(name)
            actions[name].setChecked(True)
        presentation = getattr(w, "presentation", None)
        with contextlib.suppress(TypeError, ValueError):
            size = int(s.value("view/text_size"))
            if presentation is not None and size in range(len(presentation.text_sizes)):
                presentation.set_text_size(size)

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


class _SaveJob:
    """One write of a session file: ``state`` None removes the file instead.

    ``explicit`` marks a save the user asked for (not a recovery write); ``version`` and
    ``as_lesson`` are what the GUI thread needs to know when it is done.
    """

    def __init__(self, path: Path, state, view, lesson, done, explicit: bool = False):
        self.path = path
        self.explicit = explicit
        self.version = -1
        self.as_lesson = False
        self.state = state
        self.view = view
        self.lesson = lesson
        self.done = done  # called on the GUI thread with the finished job
        self.error: Exception | None = None
        self.reported = False

    def run(self) -> None:
        """On the worker thread."""
        try:
            if self.state is None:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            else:
                if not self.explicit:  # the recovery folder; a chosen folder must exist
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                save_session(self.path, self.state, view=self.view, lesson=self.lesson)
        except Exception as exc:  # reported on the GUI thread; a worker must not die silently
            self.error = exc
        # The copy is written: let its memory go before the next copy is taken.
        self.state = None


class BackgroundSaver(QtCore.QObject):
    """Writes one job at a time on a worker thread; per file at most one more waits.

    A job for a file that already has one waiting replaces it (the newest copy wins).
    Completion is reported on the GUI thread (the job's ``done``), in submission order.
    """

    _finished = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._executor = background_executor("save")
        self._running: tuple[_SaveJob, Future] | None = None
        self._waiting: dict[Path, _SaveJob] = {}
        self._finished.connect(self._report, QtCore.Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._waiting)

    def waits_for(self, path: Path) -> bool:
        """Whether a job for ``path`` waits to be written."""
        return path in self._waiting

    def submit(self, job: _SaveJob) -> None:
        if self._running is None:
            self._start(job)
        else:
            # Replaces an older job for the same file: the newest copy wins. A waiting
            # explicit save is never dropped for a recovery write, and the reverse.
            self._waiting.pop(job.path, None)
            self._waiting[job.path] = job

    def _start(self, job: _SaveJob) -> None:
        future = self._executor.submit(self._work, job)
        self._running = (job, future)

    def _work(self, job: _SaveJob) -> None:
        job.run()
        self._finished.emit(job)

    def _report(self, job: _SaveJob) -> None:
        if job.reported or self._running is None or self._running[0] is not job:
            return  # already reported by wait()
        job.reported = True
        self._running = None
        if self._waiting:
            self._start(self._waiting.pop(next(iter(self._waiting))))
        job.done(job)

    def wait(self) -> None:
        """Block until every submitted job is written and reported."""
        while self._running is not None:
            job, future = self._running
            future.result()
            self._report(job)


def _lesson_name(index: int) -> str:
    """A lesson as the title bar names it: 'lesson 2 of 8: Colour input: …'."""
    title = LESSONS[index].title
    number = f"{index + 1}. "
    title = title[len(number) :] if title.startswith(number) else title
    return f"lesson {index + 1} of {len(LESSONS)}: {title}"


def _menu_actions(menu: QtWidgets.QMenu) -> list[QtGui.QAction]:
    """Every entry of ``menu`` and of its submenus."""
    found = []
    for action in menu.actions():
        found.append(action)
        if action.menu() is not None:
            found += _menu_actions(action.menu())
    return found


def _flag(value) -> bool | None:
    """A yes/no preference as QSettings returns it (a bool, or "true"/"false" from INI)."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower()) if value is not None else None


def _try_lock(path: Path) -> QtCore.QLockFile | None:
    """Take the lock of recovery file ``path``; None while a running instance holds it.

    A lock whose instance is gone (a crash) is stale and taken over.
    """
    lock = QtCore.QLockFile(str(path.with_suffix(LOCK_SUFFIX)))
    return lock if lock.tryLock(0) else None


def _is_orphaned(path: Path) -> bool:
    """Whether recovery file ``path`` was left by an instance that is gone."""
    lock = _try_lock(path)
    if lock is None:
        return False
    lock.unlock()
    return path.exists()


def _with_suffix(path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == SUFFIX else path.with_name(path.name + SUFFIX)


def _to_setting(path: str) -> str:
    """A path as settings can hold it: a file name that is not UTF-8 as a file URL
    (settings text cannot hold its bytes; they would be lost and the entry broken)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeError:
        return "file://" + urllib.parse.quote(os.fsencode(path))


def _from_setting(entry: str) -> str:
    if entry.startswith("file://"):
        return os.fsdecode(urllib.parse.unquote_to_bytes(entry[len("file://") :]))
    return entry
