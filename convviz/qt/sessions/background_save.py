"""Session files written on a worker thread: one write (``_SaveJob``) and the writer that
runs them one at a time (``BackgroundSaver``), for explicit saves and recovery writes."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from pathlib import Path

from PySide6 import QtCore

from convviz.io.session import save_session
from convviz.qt.base.workers import background_executor


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
