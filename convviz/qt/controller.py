"""Edits -> model -> one coalesced recompute -> one frame pushed to every view.

The controller owns the document and its history. Views emit intents (paint here, set
this kernel value); the controller turns each into a command. Any number of document
changes within one event-loop turn produce a single recompute, so the UI never queues
behind itself while someone paints or drags a value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from PySide6 import QtCore

from convviz.core import brush
from convviz.core.commands import (
    History,
    PaintCommand,
    SetBias,
    SetKernelValue,
    StackCommand,
    StateCommand,
    state_command,
)
from convviz.core.geometry import box_union
from convviz.core.levels import input_levels
from convviz.core.model import (
    INPUT,
    MAX_CHANNELS,
    MAX_FILTERS,
    MAX_KERNEL,
    SELECTION,
    SETTINGS,
    WEIGHTS,
    Change,
    Document,
    LayerSettings,
    default_channel_names,
    new_conv_layer,
    reshaped_weights,
)
from convviz.core.pipeline import Pipeline, box_change, filter_change
from convviz.core.presets import filter_preset, glorot_uniform
from convviz.core.stack import (
    MAX_LAYERS,
    ConvLayer,
    LayerRow,
    PoolLayer,
    fit_layers,
    forward,
    forward_work,
    shapes,
    summary,
)
from convviz.qt.workers import background_executor


@dataclass(frozen=True)
class Frame:
    """Everything the views show after one recompute (views never read the document)."""

    input: np.ndarray  # the document's own array: read it, never write it
    channel_names: tuple[str, ...]
    input_levels: tuple[float, float]
    kernel: np.ndarray  # (kh, kw, Cg) of the selected filter
    bias_value: float | None
    selected: int
    filters: int
    kernel_channel_names: tuple[str, ...]
    kernel_maps: np.ndarray | None  # (H', W', Cg) of the selected filter
    pre_activation: np.ndarray | None  # (H', W', filters)
    feature_maps: np.ndarray | None  # (H', W', filters)
    map_levels: tuple[float, float]
    output_shape: tuple[int, int, int]
    param_count: int
    activation: str
    settings: LayerSettings
    message: str | None
    # What differs from the previous frame, so views redraw only that.
    input_changed: bool = True
    weights_changed: bool = True
    changed_filters: frozenset | None = None  # None: every filter's maps
    # A brush-only frame: the boxes (rows, cols slices) of the input and of every map
    # outside which nothing changed; None: anything may have changed.
    input_box: tuple[slice, slice] | None = None
    output_box: tuple[slice, slice] | None = None
    # Kernel maps of the selected filter that changed; None: any of them.
    changed_kernel_maps: frozenset | None = None
    # A brush-only frame: the input channels it changed; None: any of them.
    input_channels: frozenset | None = None
    # Every value of every map is known to be finite (measured with the colour scale).
    finite: bool = False
    # The network's layers, and which of them is shown (from 0): the input is then what
    # the layers before it made, which no brush paints on.
    layers: tuple[LayerRow, ...] = ()
    shown: int = 0
    network_input_shape: tuple[int, int, int] = (0, 0, 0)
    # While a deeper layer is shown: the network's own input (the document's array: read
    # it, never write it), which the brush paints, its channel names and levels, and the
    # box of it painted since the last frame (None: any of it).
    network_input: np.ndarray | None = None
    network_names: tuple[str, ...] = ()
    network_levels: tuple[float, float] | None = None
    network_box: tuple[slice, slice] | None = None
    network_changed: bool = False  # the network's input is to be drawn again
    network_version: int = 0  # counts the document's remakes of the shown layer's input

    @property
    def input_editable(self) -> bool:
        return self.shown == 0


class Controller(QtCore.QObject):
    """Owns the document; every user intent becomes an undoable command."""

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
    # Painting the network's input while a deeper layer is shown makes that layer's input
    # again with every segment up to this many multiply-adds (a few milliseconds), else
    # once the stroke ends, on the worker.
    live_network_work = 20_000_000

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
        self._last_rows: tuple | None = None
        self._network_box = None  # painted on the network's input since the last frame
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

    def _push(self, out) -> Frame:
        doc, s = self.doc, self.doc.settings
        f = doc.selected_filter
        h_out, w_out = out.output_size
        message = None if out.feature_maps is not None else _empty_message(doc, out.geometry)
        previous = self.frame
        channels = doc.filter_channels(f)
        same_input = previous is not None and not out.input_changed
        self.frame = Frame(
            input=doc.input,
            channel_names=doc.channel_names,
            input_levels=(
                previous.input_levels
                if same_input
                else _levels_after(previous, out.input_box, doc.input)
            ),
            kernel=doc.kernel[:, :, :, f].copy(),
            bias_value=float(doc.bias[f]) if s.use_bias else None,
            selected=f,
            filters=s.filters,
            kernel_channel_names=tuple(doc.channel_names[c] for c in channels),
            kernel_maps=out.kernel_maps,
            pre_activation=out.pre_activation,
            feature_maps=out.feature_maps,
            map_levels=out.levels,
            output_shape=(max(h_out, 0), max(w_out, 0), s.filters),
            param_count=out.param_count,
            activation=s.activation or "linear",
            settings=s,
            message=message,
            input_changed=previous is None or out.input_changed,
            weights_changed=previous is None or out.weights_changed,
            changed_filters=None if previous is None else out.changed_filters,
            input_box=None if previous is None else out.input_box,
            output_box=None if previous is None else out.output_box,
            changed_kernel_maps=None if previous is None else out.changed_kernel_maps,
            input_channels=None if previous is None else out.input_channels,
            layers=self._rows(),
            shown=doc.shown,
            network_input_shape=doc.network_input.shape,
            **self._network_fields(previous),
            finite=out.finite,
        )
        self.frameReady.emit(self.frame)
        return self.frame

    def _push_empty(self, message: str, output_size: tuple[int, int] = (0, 0)) -> Frame:
        """A frame without maps, saying why (``output_size``: of the layer being computed)."""
        self.pipeline.full = True
        doc = self.doc
        f = doc.selected_filter
        self.frame = Frame(
            input=doc.input,
            channel_names=doc.channel_names,
            input_levels=input_levels(doc.input),
            kernel=doc.kernel[:, :, :, f].copy(),
            bias_value=float(doc.bias[f]) if doc.settings.use_bias else None,
            selected=f,
            filters=doc.settings.filters,
            kernel_channel_names=tuple(doc.channel_names[c] for c in doc.filter_channels(f)),
            kernel_maps=None,
            pre_activation=None,
            feature_maps=None,
            map_levels=(-1.0, 1.0),
            output_shape=(*output_size, doc.settings.filters),
            param_count=int(doc.kernel.size + doc.bias.size),
            activation=doc.settings.activation or "linear",
            settings=doc.settings,
            message=message,
            layers=self._rows(),
            shown=doc.shown,
            network_input_shape=doc.network_input.shape,
            **self._network_fields(self.frame),
        )
        self.frameReady.emit(self.frame)
        return self.frame

    def _rows(self) -> tuple[LayerRow, ...]:
        """The network's rows for the layer bar, worked out again only when a shape or a
        layer changed (not for every brush frame)."""
        doc = self.doc
        key = (doc.network_input.shape, doc.settings, doc.kernel.shape)
        last = self._last_rows
        if last is None or last[0] != key or last[1] is not doc.before or last[2] is not doc.after:
            live = _Shape(doc.settings, doc.kernel.size + doc.bias.size)
            rows = summary(doc.network_input.shape, (*doc.before, live, *doc.after))
            self._last_rows = last = (key, doc.before, doc.after, rows)
        return last[3]

    # -- painting -------------------------------------------------------------------------
    def begin_stroke(
        self, channel: int, row: float, col: float, radius: float, value: float, network=False
    ):
        """Start a stroke on ``channel`` (-1: every channel) at (row, col), on the shown
        layer's input, or with ``network`` on the network's input: the same on layer 1;
        on a deeper layer, whose own input is what the layers before it made (no brush
        paints there), that input is made again as the stroke goes (when the layers
        before are at most ``live_network_work`` multiply-adds; else once it ends)."""
        if self._stroke is not None:
            self.end_stroke()
        doc = self.doc
        on_source = bool(network and doc.shown)
        if doc.shown and not on_source:
            self.status.emit(
                f"This is layer {doc.shown + 1}'s input: what the layers before it made. "
                "Paint on the network's input above it."
            )
            return
        target = doc.network_input
        channels = range(target.shape[2]) if channel < 0 else [channel]
        live = not on_source or (forward_work(target.shape, doc.before) <= self.live_network_work)
        self._stroke = dict(
            channels=list(channels),
            radius=radius,
            value=value,
            last=(row, col),
            memory=brush.StrokeMemory(target),
            box=None,
            network=on_source,
            live=live,
            stale=False,
        )
        self._paint((row, col), (row, col))

    def stroke_to(self, row: float, col: float) -> None:
        if self._stroke is not None:
            self._paint(self._stroke["last"], (row, col))
            self._stroke["last"] = (row, col)

    def _paint(self, p0, p1) -> None:
        st = self._stroke
        target = self.doc.network_input
        st["memory"].before_painting(brush.segment_box(target.shape, p0, p1, st["radius"]))
        box = brush.paint_segment(target, st["channels"], p0, p1, st["radius"], st["value"])
        if box is None:
            return
        st["box"] = box_union([st["box"], box])
        if not st["network"]:
            self.doc.notify({INPUT, box_change(box, st["channels"])})
            return
        self._network_box = box_union([self._network_box, box])
        if st["live"]:
            self.doc.source_changed()  # the shown layer's input, made again
        else:
            st["stale"] = True
            self._push_network()

    def _push_network(self) -> None:
        """A frame in which only the network's input changed (painted while a deeper
        layer, too heavy to make again at once, is shown)."""
        if self.frame is None:
            return
        self.frame = replace(
            self.frame,
            input_changed=False,
            weights_changed=False,
            changed_filters=frozenset(),
            changed_kernel_maps=frozenset(),
            **self._network_fields(self.frame),
        )
        self.frameReady.emit(self.frame)

    def _network_fields(self, previous: Frame | None) -> dict:
        """The frame's fields of the network's input: None on layer 1 (it is the input)."""
        doc = self.doc
        box, self._network_box = self._network_box, None
        if doc.source is None:
            return dict(network_input=None, network_box=None, network_changed=False)
        first = (
            previous is None
            or previous.network_levels is None
            or previous.network_input is not doc.source  # another network's input
        )
        changed = first or box is not None or previous.network_version != doc.source_changes
        if not changed:
            levels = previous.network_levels
        elif first or box is None:
            levels = input_levels(doc.source)
        else:
            levels = _network_levels(previous.network_levels, box, doc.source)
        return dict(
            network_input=doc.source,
            network_names=doc.source_names,
            network_levels=levels,
            network_box=None if first else box,
            network_changed=changed,
            network_version=doc.source_changes,
        )

    def _gesture_ended(self) -> None:
        """A stroke or a nudge burst ended: let the colour scale shrink to fit again."""
        self._nudging = False
        if self.pipeline.hold:
            self.pipeline.hold = False
            if not self._timer.isActive():
                self._timer.start()
            self._settle_timer.start(0)  # after that refresh: rescale, then resync

    def end_stroke(self) -> None:
        st, self._stroke = self._stroke, None
        self._gesture_ended()
        if st is None or st["box"] is None:
            return
        box = st["box"]
        target = self.doc.network_input if st["network"] else self.doc.input
        old, new = st["memory"].original(box), target[box].copy()
        if np.array_equal(old, new):
            return
        names = self.doc.network_names if st["network"] else self.doc.channel_names
        picked = [names[c] for c in st["channels"]]
        where = "all channels" if len(picked) > 1 else picked[0]
        verb = "Erase" if st["value"] == 0 else "Paint"
        label = f"{verb} on {where}" + (" of the network's input" if st["network"] else "")
        cmd = PaintCommand(label, box, old, new, network=st["network"])
        self.history.push(cmd, applied=True)
        if st["stale"]:
            self._remake_shown_input()

    def _remake_shown_input(self) -> None:
        """Make the shown layer's input again from the painted network input, on the
        worker (the layers before it are heavy)."""
        doc = self.doc
        if doc.source is None:
            return
        x, before, version = doc.source.copy(), doc.before, doc.changes

        def adopt(made, doc):
            if doc.changes != version or doc.source is None:
                QtCore.QTimer.singleShot(0, self._remake_shown_input)
                return None
            doc.source_changed(made)
            return None

        self._start_job(
            lambda: forward(x, before), adopt, f"Computing layer {doc.shown + 1}'s input…"
        )

    def abort_stroke(self) -> None:
        """Esc during a stroke: put the pixels back, record nothing."""
        st, self._stroke = self._stroke, None
        if st is not None and st["box"] is not None:
            if st["network"]:
                self.doc.network_input[st["box"]] = st["memory"].original(st["box"])
                self._network_box = box_union([self._network_box, st["box"]])
                if st["live"]:
                    self.doc.source_changed()
                else:
                    self._push_network()
            else:
                self.doc.input[st["box"]] = st["memory"].original(st["box"])
                self.doc.notify({INPUT, box_change(st["box"])})
        self._gesture_ended()

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    # -- weights --------------------------------------------------------------------------
    def set_kernel_value(self, row: int, col: int, k: int, value: float, nudge=False) -> None:
        f = self.doc.selected_filter
        index = (row, col, k, f)
        old = float(self.doc.kernel[index])
        if np.float32(value) == np.float32(old):
            return
        if not nudge:
            self.history.close_merge()
            self._gesture_ended()
        self._nudging = nudge
        self.history.push(SetKernelValue(index, old, value, nudge=nudge))

    def end_nudge(self) -> None:
        self.history.close_merge()
        self._gesture_ended()

    def set_bias(self, value: float) -> None:
        f = self.doc.selected_filter
        old = float(self.doc.bias[f])
        if np.float32(value) != np.float32(old):
            self.history.close_merge()
            self.history.push(SetBias(f, old, value))

    def apply_preset(self, name: str, *, scope: str = "filter", kernel_index: int = 0) -> None:
        """Preset on one kernel (scope 'kernel'), the selected filter, or every filter."""
        doc = self.doc
        kh, kw, cg, filters = doc.kernel.shape
        kernel = doc.kernel.copy()
        f = doc.selected_filter
        if scope == "layer":
            if "random" in name:
                kernel = glorot_uniform(kernel.shape, self.rng)
            else:
                for g in range(filters):
                    kernel[..., g] = filter_preset(name, kh, kw, cg, filters, self.rng)
            label = f"Preset {name} on every filter"
        elif scope == "kernel":
            kernel[:, :, kernel_index, f] = filter_preset(name, kh, kw, cg, filters, self.rng)[
                :, :, 0
            ]
            label = f"Preset {name} on kernel {kernel_index + 1} of filter {f + 1}"
        else:
            kernel[..., f] = filter_preset(name, kh, kw, cg, filters, self.rng)
            label = f"Preset {name} on filter {f + 1}"
        self.history.close_merge()
        self.history.push(state_command(doc, label, {WEIGHTS}, kernel=kernel))

    # -- settings and selection -------------------------------------------------------------
    def select_filter(self, f: int) -> None:
        if 0 <= f < self.doc.settings.filters and f != self.doc.selected_filter:
            self.doc.selected_filter = f
            self.doc.notify({SELECTION})

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

    # -- whole documents (sessions) and previews (training) --------------------------------
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

    def preview_weights(self, kernel: np.ndarray, bias: np.ndarray) -> None:
        """Show new weights without recording them (a running training step)."""
        changed = np.any(self.doc.kernel != kernel, axis=(0, 1, 2)) | (self.doc.bias != bias)
        self.doc.kernel[...] = kernel
        self.doc.bias[...] = bias
        self.doc.notify({WEIGHTS, *(filter_change(int(g)) for g in np.flatnonzero(changed))})

    def commit_weights(self, before_kernel, before_bias, label: str) -> None:
        """Record the change from ``before_*`` to the current weights as one undo step."""
        after = dict(kernel=self.doc.kernel.copy(), bias=self.doc.bias.copy())
        cmd = StateCommand(
            label, dict(kernel=before_kernel.copy(), bias=before_bias.copy()), after, {WEIGHTS}
        )
        self.history.close_merge()
        self.history.push(cmd, applied=True)

    # -- the stack of layers -------------------------------------------------------------
    def show_layer(self, k: int, then=None) -> bool:
        """Show the insides of layer ``k`` (from 0), then call ``then()``; False, saying
        why, when it has none or nothing to read. Not an undo step: it changes what is
        shown, not the network. When the layers before it are more than
        ``background_work`` multiply-adds, what they make is computed on the worker
        (with progress after half a second) and the layer is shown once it is done."""
        doc = self.doc
        try:
            before = doc.layers_before(k)
        except ValueError as exc:
            self.status.emit(f"{exc}; layer {doc.shown + 1} is still shown")
            return False
        if k != doc.shown:
            self.end_stroke()
            self.end_nudge()
        if (
            k == doc.shown
            or not k
            or forward_work(doc.network_input.shape, before) <= self.background_work
        ):
            doc.show_layer(k)
            self.history.close_merge()
            if then is not None:
                then()
            return True
        x = doc.reader_snapshot()["input"] if doc.shown == 0 else doc.network_input
        version = doc.changes

        def adopt(made, doc):
            if doc.changes != version:  # the network changed meanwhile: again
                QtCore.QTimer.singleShot(0, lambda: self.show_layer(k, then))
                return None
            doc.show_layer(k, made)
            self.history.close_merge()
            if then is not None:
                then()
            return None  # the layer's maps are computed next

        self._start_job(lambda: forward(x, before), adopt, f"Computing layer {k + 1}'s input…")
        return True

    def add_layer(self, kind: str = "conv") -> bool:
        """Append a Conv2D (``kind`` "conv": 4 filters of 3×3, relu, kernels as deep as
        the channels before it; shown next) or a MaxPooling2D (``kind`` "pool", 2×2)
        to the network, as one undo step; False, saying why, when it does not fit."""
        self.end_stroke()
        doc = self.doc
        layers = doc.network_layers()
        if len(layers) >= MAX_LAYERS:
            self.status.emit(f"A network here holds at most {MAX_LAYERS} layers")
            return False
        h, w, c = shapes(doc.network_input.shape, layers)[-1]
        layer = new_conv_layer(c, self.rng) if kind == "conv" else PoolLayer()
        out = layer.output_shape((h, w, c)) if h * w else (0, 0, c)
        if not out[0] * out[1]:
            self.status.emit(
                f"Layer {len(layers)}'s output is {h}×{w}: a {layer.describe()} layer after "
                "it would have nothing left. Use a larger input or a smaller layer first."
            )
            return False
        label = f"Add layer {len(layers) + 1}: {layer.describe()}"
        self.history.close_merge()
        self.history.push(StackCommand(label, (*doc.after, layer)))
        if kind == "conv":
            self.show_layer(len(layers))
        return True

    def remove_last_layer(self) -> bool:
        """Remove the network's last layer (never layer 1), as one undo step; when it is
        the one shown, the Conv2D layer before it is shown first."""
        self.end_stroke()
        layers = self.doc.network_layers()
        if len(layers) == 1:
            self.status.emit("Layer 1 is the network's first layer: it stays")
            return False
        last = len(layers) - 1

        def remove() -> None:
            label = f"Remove layer {last + 1}: {layers[last].describe()}"
            self.history.close_merge()
            self.history.push(StackCommand(label, self.doc.after[:-1]))

        if self.doc.shown == last:
            previous = max(i for i in range(last) if isinstance(layers[i], ConvLayer))
            return self.show_layer(previous, then=remove)
        remove()
        return True

    def undo(self) -> None:
        """Undo the last step, on the layer it was made on (shown first)."""
        self.abort_stroke()
        layer = self.history.undo_layer
        if layer is not None and layer != self.doc.shown:
            self.show_layer(layer, then=self.history.undo)
        else:
            self.history.undo()

    def redo(self) -> None:
        self.abort_stroke()
        layer = self.history.redo_layer
        if layer is not None and layer != self.doc.shown:
            self.show_layer(layer, then=self.history.redo)
        else:
            self.history.redo()

    def set_layer(self, kernel, bias, settings, *, image=None, names=None, label="Import weights"):
        """Replace the layer's weights and settings, and the input when ``image`` is given,
        as one undo step (importing a trained layer). ``bias`` None is stored as zeros.

        Raises ValueError, changing nothing, when they do not fit together or the app's
        limits.
        """
        self.end_stroke()
        doc = self.doc
        if not settings.within_limits():
            raise ValueError(
                f"filters must be 1 to {MAX_FILTERS} and kernel sides 1 to {MAX_KERNEL}"
            )
        kernel = np.array(kernel, dtype=np.float32)
        bias = np.zeros(kernel.shape[3], np.float32) if bias is None else np.array(bias, np.float32)
        after = dict(settings=settings, kernel=kernel, bias=bias, selected_filter=0)
        after.update(self._fitted_after(settings.filters))
        what = {SETTINGS}
        if image is not None:
            if doc.shown:
                raise ValueError(
                    f"layer {doc.shown + 1} reads what the layers before it made: a new "
                    "input goes to layer 1"
                )
            image = np.array(image, dtype=np.float32)
            after.update(
                input=image,
                channel_names=tuple(names or ()) or default_channel_names(image.shape[2]),
            )
            what = {INPUT, SETTINGS}
        # Validates without touching ours.
        Document(
            **{**doc.snapshot(), "after": doc.after, **after},
            before=doc.before,
            source=doc.source,
            source_names=doc.source_names,
        )
        self.history.close_merge()
        self.history.push(state_command(doc, label, what, **after))


@dataclass(frozen=True)
class _Shape:
    """What the rows need of the shown layer, without copying its kernels."""

    settings: LayerSettings
    size: int
    kind = "Conv2D"

    def output_shape(self, shape):
        return ConvLayer.output_shape(self, shape)  # type: ignore[arg-type]

    def describe(self) -> str:
        return ConvLayer.describe(self)  # type: ignore[arg-type]

    @property
    def param_count(self) -> int:
        return self.size if self.settings.use_bias else self.size - self.settings.filters


def _computing(filters: list[int]) -> str:
    names = ", ".join(str(g + 1) for g in filters)
    return f"Computing filter{'s' if len(filters) > 1 else ''} {names}…"


def _levels_after(
    previous: Frame | None, box: tuple[slice, slice] | None, x: np.ndarray
) -> tuple[float, float]:
    """The input's levels after an edit. A brush box of values in [0, 1] drawn on an input
    whose levels were [0, 1] keeps them, without a pass over the whole input (7 ms at
    1024x1024x16)."""
    if previous is not None and box is not None and previous.input_levels == (0.0, 1.0):
        part = x[box]
        if part.size == 0 or (part.min() >= 0 and part.max() <= 1):
            return (0.0, 1.0)
    return input_levels(x)


def _network_levels(
    levels: tuple[float, float], box: tuple[slice, slice] | None, x: np.ndarray
) -> tuple[float, float]:
    """The network input's levels after a brush box (see `_levels_after`)."""
    if box is not None and levels == (0.0, 1.0):
        part = x[box]
        if part.size == 0 or (part.min() >= 0 and part.max() <= 1):
            return levels
    return input_levels(x)


def _empty_message(doc: Document, geometry) -> str:
    s = doc.settings
    kh, kw = s.kernel_size
    dh, dw = s.dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    h, w = doc.input.shape[:2]
    t, b, left, r = geometry.padding
    return (
        f"Output is empty: the {kh}×{kw} kernel"
        + (f" (dilated to {eh}×{ew})" if (dh, dw) != (1, 1) else "")
        + f" does not fit in the {h + t + b}×{w + left + r} padded input. "
        "Use a smaller kernel or dilation, or more padding."
    )
