"""Background jobs, the controller's part that runs a big recompute on the worker thread,
says how long it has taken after half a second, and adopts its result on the GUI thread
(a mixin of :class:`~convviz.qt.control.controller.Controller`, which makes the worker,
the progress timer and the signal that brings a job's result back).
"""

from __future__ import annotations

import time

from convviz.core.pipeline import Pipeline


class Jobs:
    """Start a job on the worker, show its progress, adopt its result when it is done."""

    def _adopt_layer(self, cache, doc):
        if self.pipeline.full:
            return None  # the layer changed again meanwhile: this result is stale
        return self.pipeline.adopt(cache, doc)

    def _adopt_filters(self, result, doc):
        return self.pipeline.adopt_filters(result, doc)  # None if the pipeline was replaced

    def _start_job(self, job, adopt, what: str = "Computing the layer…") -> None:
        """Run ``job`` on the worker; ``adopt(result, doc)`` turns its result into the
        outputs to show, or None when the document moved on (compute again)."""
        self._generation += 1
        generation = self._generation
        self.status.emit(what)
        future = self._executor.submit(job)
        # Runs on the worker thread: the queued signal brings the result to the GUI thread.
        future.add_done_callback(lambda fut: self._jobDone.emit(generation, fut))
        self._job = future
        self._adopt = adopt
        self._job_what, self._job_started = what, time.monotonic()
        self._progress.start()

    def _show_progress(self) -> None:
        if self._job is None:
            self._progress.stop()
            return
        seconds = time.monotonic() - self._job_started
        self.status.emit(f"{self._job_what} ({seconds:.1f} s)")

    def _on_job_done(self, generation: int, future) -> None:
        if generation != self._generation:
            return  # a job replaced by a newer one, which is still running
        self._job = None
        self._progress.stop()
        try:
            out = self._adopt(future.result(), self.doc)
        except ValueError as exc:
            self.pipeline = Pipeline()
            self._push_empty(f"Output is empty: {exc}")
            return
        if out is None:
            self.refresh_now()
            return
        self._push(out)
        self.status.emit("")
        if self.pipeline.pending:
            self.refresh_views()  # edits made while it computed

    @property
    def computing(self) -> bool:
        """Whether a whole-layer recompute is running in the background."""
        return self._job is not None
