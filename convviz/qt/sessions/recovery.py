"""Autosave and crash recovery, a part of the session manager.

While the app runs, the document is autosaved about two seconds after each change to a
recovery file of this instance's own (``recovery-<id>.convviz``); a normal close deletes
it. Each instance holds a lock file next to its recovery file for as long as it runs, so a
new instance offers only the files of instances that are gone, and never deletes or
overwrites the work of one that is still running.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from time import monotonic

from PySide6 import QtCore

from convviz.io.file_names import display_name
from convviz.io.session import SUFFIX
from convviz.qt.sessions.background_save import _SaveJob

AUTOSAVE_MS = 2000
# During a continuous change (training, a long paint session) autosave anyway this often.
AUTOSAVE_MAX_DELAY_S = 10.0
# Recovery files are "recovery-<id>.convviz"; earlier versions shared one "recovery.convviz",
# which the pattern matches too, so work such a version left behind is still offered.
RECOVERY_PATTERN = "recovery*" + SUFFIX
_RECOVERY_NAME = r"recovery[^/]*" + re.escape(SUFFIX)  # the same, as a regular expression
LOCK_SUFFIX = ".lock"


def default_recovery_dir() -> Path:
    """``CONVVIZ_RECOVERY_DIR`` if set, else the app's data folder."""
    folder = os.environ.get("CONVVIZ_RECOVERY_DIR") or QtCore.QStandardPaths.writableLocation(
        QtCore.QStandardPaths.StandardLocation.AppDataLocation
    )
    return Path(folder)


class Recovery:
    """The recovery file of this instance, and the work of instances that are gone (a
    mixin of :class:`~convviz.qt.sessions.manager.SessionManager`)."""

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
