"""Opening and saving session files, a part of the session manager."""

from __future__ import annotations

import re
from pathlib import Path

from convviz.core.lessons import LESSONS
from convviz.io.atomic import remove_stale_temp_files
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError
from convviz.io.session import SUFFIX, load_session
from convviz.qt.sessions.background_save import _SaveJob


class SessionFiles:
    """Open a session file into the window, save the window's session to one (a mixin of
    :class:`~convviz.qt.sessions.manager.SessionManager`)."""

    def open_dialog(self) -> None:
        if self.maybe_save():
            path = self.ask_open_path()
            if path:
                self._open(Path(path), remember=True)

    def open_session(self, path) -> bool:
        """Open a session file (asking about unsaved changes first); False if not opened."""
        return self.maybe_save() and self._open(Path(path), remember=True)

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


def _with_suffix(path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == SUFFIX else path.with_name(path.name + SUFFIX)
