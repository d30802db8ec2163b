"""Edits -> model -> one coalesced recompute -> one frame pushed to every view.

The controller owns the document and its history. Views emit intents (paint here, set
this kernel value); the controller turns each into a command. Any number of document
changes within one event-loop turn produce a single recompute, so the UI never queues
behind itself while someone paints or drags a value.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6 import QtCore

from convviz.core.changes import INPUT, SETTINGS, Change
from convviz.core.commands import PaintCommand, state_command
from convviz.core.frames import Frame, FrameBuilder
from convviz.core.history import History
from convviz.core.model import (
    MAX_CHANNELS,
    MAX_FILTERS,
    MAX_KERNEL,
    Document,
    default_channel_names,
    reshaped_weights,
)
from convviz.core.pipeline import Pipeline
from convviz.core.stack import (
    fit_layers,
)
from convviz.qt.base.workers import background_executor
from convviz.qt.control.jobs import Jobs
from convviz.qt.control.layer_edits import LayerEdits
from convviz.qt.control.painting import Painting
from convviz.qt.control.queries import Queries
from convviz.qt.control.weights import Weights


class Controller(Painting, LayerEdits, Weights, Jobs, Queries, QtCore.QObject):
    """Owns the document; every user intent becomes an undoable command. Painting
    (`painting.py`), the network's layers (`layer_edits.py`), the weights
    (`weights.py`) and the background jobs (`jobs.py`) are parts of it."""

    frameReady = QtCore.Signal(object)
    historyChanged = QtCore.Signal()
    status = QtCore.Signal(str)
    _jobDone = QtCore.Signal(int, object)

    # Whole-layer recomputes above this many multiply-adds (about 20 ms here) go to a
    # worker thread; numpy releases the GIL in its loops and BLAS calls.
    background_work = 40_000_000
    # Pause after the last edit before incrementally updated filters are recomputed.
    resync_delay_ms = 1500
    # Between the steps that settle the maps after a gesture (see settle_step), and the
    # pause in editing they wait for, so that they do not delay an edit.
    settle_interval_ms = 16
    settle_idle_ms = 300

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.history = History(doc)
        self.history.subscribe(self.historyChanged.emit)
        self.history.subscribe_notice(self.status.emit)
        self.rng = np.random.default_rng(1)
        self.frame: Frame | None = None
        self.recomputes = 0
        self._stroke = None
        self.frames = FrameBuilder()
        self._nudging = False  # a burst of nudges on a kernel value or the bias is open
        self.pipeline = Pipeline()
        self._executor = background_executor("layer")
        self._job = None
        self._generation = 0
        self._jobDone.connect(self._on_job_done, QtCore.Qt.ConnectionType.QueuedConnection)
        # A job running longer than half a second says so, with the time it has taken.
        self._progress = QtCore.QTimer(self)
        self._progress.setInterval(500)
        self._progress.timeout.connect(self._show_progress)
        self._job_what, self._job_started = "", 0.0
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh_now)
        # Once edits pause, filters updated value by value are recomputed in full so
        # float32 rounding of the updates does not stay on screen.
        self._resync_timer = QtCore.QTimer(self)
        self._resync_timer.setSingleShot(True)
        self._resync_timer.setInterval(self.resync_delay_ms)
        self._resync_timer.timeout.connect(self.resync_now)
        # After a gesture: the colour scale is measured again at once, and once editing
        # pauses what brush segments corrected by difference is recomputed, a strip at a
        # time a frame apart (an edit made meanwhile waits for one strip at most).
        self._settle_timer = QtCore.QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(self.settle_interval_ms)
        self._settle_timer.timeout.connect(self.settle_step)
        doc.subscribe(self._on_changed)

    # -- refresh --------------------------------------------------------------------------
    def _on_changed(self, what: Change) -> None:
        self.pipeline.note(what, stroking=self._stroke is not None)
        self.pipeline.hold = self._stroke is not None or self._nudging
        if not self._timer.isActive():
            self._timer.start()
        self._resync_timer.start()
        if self._settle_timer.isActive():  # settling waits for a pause in editing
            self._settle_timer.start(self.settle_idle_ms)

    def resync_now(self) -> Frame | None:
        """Recompute what was updated incrementally since it was last computed whole: while
        brush strokes left some, a strip of the output they updated by difference per call
        (see :meth:`settle_step`), then the filters updated value by value."""
        if self._busy():
            self._resync_timer.start()
            return None
        frame = self.settle_step()
        if frame is not None:
            self._resync_timer.start()  # the filters, once the strips are done
            return frame
        if Pipeline.work(self.doc) // max(self.doc.settings.filters, 1) > self.background_work:
            return None  # one filter would stall the window; the edit count bounds drift
        try:
            out = self.pipeline.resync(self.doc)
        except ValueError:
            return None
        return None if out is None else self._push(out)

    def settle_step(self) -> Frame | None:
        """One turn of the loop's worth of settling after a gesture: measure the maps for
        the colour scale, or recompute one strip of the output a brush updated by
        difference; the frame, or None when nothing was left (or an edit is pending)."""
        if self._busy():
            if self._timer.isActive() and self._job is None and self._stroke is None:
                self._settle_timer.start(0)  # after the refresh that is about to run
            return None
        wait = self.settle_interval_ms
        try:
            out = self.pipeline.rescan_levels(self.doc)
            if out is not None:
                wait = self.settle_idle_ms  # the strips, once editing pauses
            elif self.pipeline.drift_pending:
                out = self.pipeline.resync_drift(self.doc)
        except ValueError:
            return None
        if out is None:
            return None
        self._settle_timer.start(wait)  # the next step
        return self._push(out)

    def _busy(self) -> bool:
        return self._job is not None or self._stroke is not None or self.pipeline.pending

    def refresh_now(self) -> Frame:
        """Recompute what changed and push a frame now (normally the coalescing timer's job).

        A whole-layer recompute bigger than ``background_work`` multiply-adds runs on a
        worker thread so the window stays responsive, and so do filters recomputed whole
        (a preset, a training step, a paste) when they are that big; the frame follows
        when it is done.
        """
        self._timer.stop()
        doc = self.doc
        self.recomputes += 1
        if self._job is not None:
            return self.frame  # the running job's completion refreshes again
        try:
            work = Pipeline.work(doc)
            if work > self.background_work:
                if self.pipeline.wants_full(doc):
                    if self.frame is None:  # the window opens at once, the maps follow
                        size = Pipeline.output_size(doc)
                        self._push_empty("Computing the layer…", size)
                    self._start_job(self.pipeline.full_job(doc), self._adopt_layer)
                    return self.frame
                heavy = self.pipeline.heavy_filters(doc)
                per_filter = work // max(doc.settings.filters, 1)
                if heavy and len(heavy) * per_filter > self.background_work:
                    job = self.pipeline.filters_job(doc, heavy)
                    self._start_job(job, self._adopt_filters, _computing(heavy))
                    return self.frame
            out = self.pipeline.compute(doc)
        except ValueError as exc:  # settings conv2d refuses: say so, keep running
            self.pipeline = Pipeline()
            return self._push_empty(f"Output is empty: {exc}")
        return self._push(out)

    @property
    def idle(self) -> bool:
        """Whether nothing is left to do: no refresh, settling step (the colour scale, the
        strips a brush updated by difference), resync of edited filters or background
        recompute is pending."""
        timers = (self._timer, self._settle_timer, self._resync_timer)
        return self._job is None and not any(t.isActive() for t in timers)

    def _push(self, out) -> Frame:
        self.frame = self.frames.frame(self.doc, out, self.frame)
        self.frameReady.emit(self.frame)
        return self.frame

    def _push_empty(self, message: str, output_size: tuple[int, int] = (0, 0)) -> Frame:
        """A frame without maps, saying why (``output_size``: of the layer being computed)."""
        self.pipeline.full = True
        self.frame = self.frames.empty(self.doc, message, output_size, self.frame)
        self.frameReady.emit(self.frame)
        return self.frame

    # -- settings and selection -------------------------------------------------------------
    def select_filter(self, f: int) -> None:
        """Select filter ``f`` (a view of the layer, not an undo step)."""
        if 0 <= f < self.doc.settings.filters and f != self.doc.selected_filter:
            self.doc.select_filter(f)

    def change_settings(self, **changes) -> None:
        """Change layer settings; kernels are resized or extended as Keras would."""
        doc = self.doc
        new = replace(doc.settings, **changes)
        if new == doc.settings:
            return
        c = doc.channels
        if not new.within_limits():
            self.status.emit(
                f"filters must be 1 to {MAX_FILTERS} and kernel sides 1 to {MAX_KERNEL}; "
                "settings unchanged"
            )
            self.refresh_views()
            return
        refusal = new.keras_refusal()
        if refusal:
            self.status.emit(f"{refusal}; settings unchanged")
            self.refresh_views()
            return
        if c % new.groups or new.filters % new.groups:
            self.status.emit(
                f"groups={new.groups} must divide the channels ({c}) and the filters "
                f"({new.filters}); settings unchanged"
            )
            self.refresh_views()
            return
        kernel, bias = reshaped_weights(doc, new, c, self.rng)
        label = "Change " + ", ".join(k.replace("_", " ") for k in changes)
        selected = min(doc.selected_filter, new.filters - 1)
        self.history.close_merge()
        self.history.push(
            state_command(
                doc,
                label,
                {SETTINGS},
                settings=new,
                kernel=kernel,
                bias=bias,
                selected_filter=selected,
                **self._fitted_after(new.filters),
            )
        )

    def _fitted_after(self, filters: int) -> dict:
        """``after=`` the layers after the shown one, reading ``filters`` channels: their
        kernels as deep as that (what fits kept), or nothing when they already are."""
        after = fit_layers(self.doc.after, filters, self.rng)
        same = all(a is b for a, b in zip(after, self.doc.after, strict=True))
        return {} if same else {"after": after}

    def refresh_views(self) -> None:
        """Push the current frame again (e.g. to reset a widget the user set invalidly)."""
        if not self._timer.isActive():
            self._timer.start()

    # -- input ----------------------------------------------------------------------------
    def set_input(self, image: np.ndarray, names=None, label="Load input") -> None:
        """Replace the whole input; the layer keeps its kernels where the channels allow."""
        self.end_stroke()  # a stroke in progress is kept as its own undo step first
        self.show_layer(0)  # the network's input is layer 1's
        doc = self.doc
        image = np.ascontiguousarray(image, dtype=np.float32)
        if image.ndim == 2:
            image = image[:, :, None]
        c = image.shape[2]
        if not 1 <= c <= MAX_CHANNELS:
            raise ValueError(f"an input needs 1 to {MAX_CHANNELS} channels, not {c}")
        names = tuple(names) if names else default_channel_names(c)
        settings = doc.settings
        if c % settings.groups:
            settings = replace(settings, groups=1)
        kernel, bias = reshaped_weights(doc, settings, c, self.rng)
        self.history.close_merge()
        self.history.push(
            state_command(
                doc,
                label,
                {INPUT},
                input=image,
                channel_names=names,
                settings=settings,
                kernel=kernel,
                bias=bias,
            )
        )

    def new_blank(self, h: int, w: int, c: int) -> None:
        self.set_input(np.zeros((h, w, c), np.float32), label=f"New blank input {h}×{w}×{c}")

    def fill_channel(self, channel: int, value: float) -> None:
        """Fill one channel (-1: all) with ``value``; value 0 is 'clear'."""
        self.end_stroke()
        self.show_layer(0)
        doc = self.doc
        if channel < 0:
            channels = slice(0, doc.channels)
            where = "all channels"
        else:
            channels = slice(channel, channel + 1)
            where = doc.channel_names[channel]
        # Only the box of pixels the fill changes is kept for undo.
        changed = np.any(doc.input[:, :, channels] != np.float32(value), axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if rows.size:
            box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1), channels)
        else:
            box = (slice(0, 0), slice(0, 0), channels)
        verb = "Clear" if value == 0 else f"Fill {value:g} on"
        self.history.close_merge()
        self.history.push(
            PaintCommand(f"{verb} {where}", box, None, np.float32(value), local=False)
        )

    # -- whole documents (sessions) --------------------------------------------------------
    def state(self) -> dict:
        """A copy of the whole document: input, channel_names, kernel, bias, settings,
        selected_filter."""
        return self.doc.snapshot()

    def reader_state(self) -> dict:
        """`state` for code that only reads it: the input is read-only and shared until
        it changes (see `Document.reader_snapshot`)."""
        return self.doc.reader_snapshot()

    def network_state(self, *, reader: bool = False) -> dict:
        """The whole network (see `Document.network_state`): what a session saves."""
        return self.doc.network_state(reader=reader)

    def network_layers(self) -> tuple[tuple[int, int, int], tuple]:
        """The network's input shape and its layers (frozen copies), first layer first."""
        return self.doc.network_input.shape, self.doc.network_layers()

    @property
    def version(self) -> int:
        """Counts the document's changes: a :meth:`state` taken at one version is still
        the document exactly while the version is the same."""
        return self.doc.changes

    def open_state(self, state: dict) -> None:
        """Replace the whole document (e.g. an opened session); history starts afresh.

        Raises ValueError, leaving the document untouched, if the state is inconsistent.
        """
        self.abort_stroke()
        self.doc.open_network(state)
        self.history.clear()


def _computing(filters: list[int]) -> str:
    names = ", ".join(str(g + 1) for g in filters)
    return f"Computing filter{'s' if len(filters) > 1 else ''} {names}…"
