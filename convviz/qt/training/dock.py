"""The "Learn a kernel" dock: gradient descent on the selected filter, shown live.

Each timer tick runs a few optimiser steps (``convviz.core.training.Trainer``) and shows
the new weights through a ``Controller.preview`` handle, so the kernel cells, kernel maps
and feature map move as the filter learns. A run (Train ... Pause, or a series of Step
presses) is one undo step from its first frame on: the handle records it after every
frame, merged into one step, so an edit made during training lands above it and Ctrl+Z
during training takes the whole run back.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from convviz.core.conv import conv2d
from convviz.core.numbers import format_number
from convviz.core.presets import KERNEL_PRESETS
from convviz.core.training import (
    DEFAULT_LEARNING_RATE,
    DEFAULT_OPTIMIZER,
    DEFAULT_SEED,
    DEFAULT_START,
    FilterSetup,
    Trainer,
    TrainingDiverged,
    stalled_message,
    start_weights,
    teacher_kernels,
    teacher_target,
    training_label,
)
from convviz.core.words import count
from convviz.qt.base.workers import background_executor
from convviz.qt.training.widgets import RevealBox, TargetCanvas

TEACHER_PRESETS = tuple(p for p in KERNEL_PRESETS if p not in ("zeros", "random (glorot uniform)"))
MIXED = "a different preset per kernel"
# Kernel c of a mixed teacher gets entry c % 6: distinct, recognisable shapes.
MIXED_CYCLE = ("sobel x", "sobel y", "laplacian", "sharpen", "emboss", "gaussian")
TARGETS = ("hidden teacher filter", "painted target", "feature map of another filter")
STARTS = {"current kernels": "current", "zeros": "zeros", "random (Glorot uniform)": "glorot"}
OPTIMIZERS = {"Adam": "adam", "SGD + momentum 0.9": "momentum", "SGD": "sgd"}
FRAME_MS = 30
PLOT_MS = 250  # the loss plot follows the steps at most four times a second


def install_training(window) -> TrainingPanel:
    """Add the "Learn a kernel" dock (hidden) and its View menu action to `window`."""
    panel = TrainingPanel(window)
    area = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
    others = [
        d
        for d in window.findChildren(QtWidgets.QDockWidget)
        if d is not panel and window.dockWidgetArea(d) == area
    ]
    window.addDockWidget(area, panel)
    if others:
        window.tabifyDockWidget(others[0], panel)
    panel.hide()
    action = panel.toggleViewAction()
    action.setText("Learn a kernel (train a filter)…")
    window.view_menu.addAction(action)
    window.close_guards.append(panel.close_guard)
    window.training = panel
    return panel


def _narrow_form() -> QtWidgets.QFormLayout:
    """A form whose fields go under their labels when the dock is narrow (a projector)."""
    form = QtWidgets.QFormLayout()
    form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def _shrinkable(combo: QtWidgets.QComboBox) -> QtWidgets.QComboBox:
    """A combo box as narrow as ten characters, not as wide as its longest choice."""
    combo.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    combo.setMinimumContentsLength(10)
    return combo


def _form_row(form: QtWidgets.QFormLayout, label: str, *widgets) -> QtWidgets.QWidget:
    """One form row: the first field on its own line, then each (label, field) pair on
    a line under it, so the row stays narrow enough for a dock on a projector."""
    row = QtWidgets.QWidget()
    grid = QtWidgets.QGridLayout(row)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.addWidget(widgets[0], 0, 0, 1, 2)
    rest = widgets[1:]
    for i in range(0, len(rest), 2):
        grid.addWidget(rest[i], 1 + i // 2, 0)
        grid.addWidget(rest[i + 1], 1 + i // 2, 1)
    grid.setColumnStretch(1, 1)
    form.addRow(label, row)
    return row


class TrainingPanel(QtWidgets.QDockWidget):
    """Choose a target and an optimiser, then watch the selected filter learn it.

    Steps too big for one frame (more than the controller's ``background_work``
    multiply-adds: a 1024x1024 input with 11x11 kernels) run on a worker thread, one batch
    at a time; a batch whose run was paused, or whose trainer was replaced, while it ran is
    dropped, the trainer put back as the window shows it.
    """

    _stepped = QtCore.Signal(object)  # (job, future), from the worker thread
    _built = QtCore.Signal(object)  # (token, state, future), from the worker thread

    def __init__(self, window):
        super().__init__("Learn a kernel", window)
        self.setObjectName("training_dock")
        self.window_ = window
        self.controller = window.controller
        self.trainer: Trainer | None = None
        self.teacher_kernels: np.ndarray | None = None
        self._run = None  # (token, before kernel, before bias, steps at start)
        self._origin = None  # (kernel, bias) of the document before the trainer's first step
        self._own_change = False
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        # The loss plot is redrawn a few times a second, not on every step, and in a turn
        # of the event loop of its own: its axes' labels take 10 ms to paint.
        self._plot_timer = QtCore.QTimer(self)
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(PLOT_MS)
        self._plot_timer.timeout.connect(self._plot_losses)
        self._executor = background_executor("training")
        self._job = None  # (trainer, run token, its state before the batch) while one runs
        self._building = None  # a token while a trainer is built on the worker thread
        self._then = None  # what to do once it is built: start training, or one step
        self._built.connect(self._on_built, QtCore.Qt.ConnectionType.QueuedConnection)
        self._stepped.connect(self._on_stepped, QtCore.Qt.ConnectionType.QueuedConnection)
        self._build()
        self.controller.documentChanged.connect(self._on_document_changed)
        self.controller.frameReady.connect(self._on_frame)
        if self.controller.frame is not None:
            self._on_frame(self.controller.frame)

    # -- widgets --------------------------------------------------------------------------
    def _build(self) -> None:
        body = QtWidgets.QWidget()
        body.setStyleSheet("font-size: 12pt;")
        lay = QtWidgets.QVBoxLayout(body)
        self.heading = QtWidgets.QLabel()
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-size: 13pt; font-weight: 600;")
        lay.addWidget(self.heading)
        form = self._form = _narrow_form()
        lay.addLayout(form)

        self.target_kind = _shrinkable(QtWidgets.QComboBox())
        self.target_kind.addItems(TARGETS)
        form.addRow("Target", self.target_kind)
        self.teacher_preset = _shrinkable(QtWidgets.QComboBox())
        self.teacher_preset.addItems((*TEACHER_PRESETS, MIXED))
        self.teacher_preset.setCurrentText("sobel x")
        self.teacher_bias = QtWidgets.QDoubleSpinBox(decimals=2, minimum=-10, maximum=10)
        self.teacher_bias.setSingleStep(0.1)
        self._teacher_row = _form_row(
            form, "Teacher", self.teacher_preset, QtWidgets.QLabel("bias"), self.teacher_bias
        )
        self.other_filter = QtWidgets.QSpinBox(minimum=1, maximum=1)
        form.addRow("Target filter", self.other_filter)
        self.canvas = TargetCanvas()
        self.paint_value = QtWidgets.QDoubleSpinBox(decimals=2, minimum=-100, maximum=100)
        self.paint_value.setValue(1.0)
        self.paint_radius = QtWidgets.QDoubleSpinBox(decimals=1, minimum=0, maximum=20)
        self.paint_radius.setValue(1.0)
        self.clear_target = QtWidgets.QPushButton("Clear")
        self.copy_target = QtWidgets.QPushButton("Copy feature map")
        self.copy_target.setToolTip("Start the painted target from the current feature map")
        self.paint_row = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.paint_row)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QtWidgets.QLabel("paint value"), 0, 0)
        grid.addWidget(self.paint_value, 0, 1)
        grid.addWidget(QtWidgets.QLabel("radius"), 0, 2)
        grid.addWidget(self.paint_radius, 0, 3)
        grid.addWidget(self.clear_target, 1, 0, 1, 2)
        grid.addWidget(self.copy_target, 1, 2, 1, 2)
        lay.addWidget(self.paint_row)
        lay.addWidget(self.canvas)

        form = _narrow_form()
        lay.addLayout(form)
        self.start = _shrinkable(QtWidgets.QComboBox())
        self.start.addItems(STARTS)
        self.start.setCurrentText(next(k for k, v in STARTS.items() if v == DEFAULT_START))
        self.seed = QtWidgets.QSpinBox(minimum=0, maximum=9999)
        self.seed.setValue(DEFAULT_SEED)
        _form_row(form, "Start from", self.start, QtWidgets.QLabel("seed"), self.seed)
        self.optimizer = _shrinkable(QtWidgets.QComboBox())
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setCurrentText(
            next(k for k, v in OPTIMIZERS.items() if v == DEFAULT_OPTIMIZER)
        )
        form.addRow("Optimiser", self.optimizer)
        self.learning_rate = QtWidgets.QDoubleSpinBox(decimals=4, minimum=1e-4, maximum=10)
        self.learning_rate.setValue(DEFAULT_LEARNING_RATE)
        self.learning_rate.setSingleStep(0.01)
        self.steps_per_frame = QtWidgets.QSpinBox(minimum=1, maximum=1000)
        self.steps_per_frame.setValue(10)
        _form_row(
            form,
            "Learning rate",
            self.learning_rate,
            QtWidgets.QLabel("steps per frame"),
            self.steps_per_frame,
        )

        buttons = QtWidgets.QGridLayout()  # two by two: whole in a narrow dock
        self.train_button = QtWidgets.QPushButton("Train")
        self.train_button.setCheckable(True)
        self.step_button = QtWidgets.QPushButton("Step")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reveal_button = QtWidgets.QPushButton("Reveal teacher")
        self.reveal_button.setCheckable(True)
        for i, b in enumerate(
            (self.train_button, self.step_button, self.reset_button, self.reveal_button)
        ):
            b.setMinimumHeight(34)
            buttons.addWidget(b, i // 2, i % 2)
        lay.addLayout(buttons)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.plot = pg.PlotWidget()
        self.plot.setLogMode(y=True)
        self.plot.setLabel("left", "loss = mean((feature map − target)²)")
        # SI prefixes on a log axis print "(x0.001)" next to powers of ten: unreadable.
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setMinimumHeight(180)
        self.curve = self.plot.plot(pen=pg.mkPen("#ffb000", width=2))
        lay.addWidget(self.plot, 1)
        self.reveal = RevealBox()
        self.reveal.hide()
        lay.addWidget(self.reveal)

        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)

        self.target_kind.currentIndexChanged.connect(self._on_target_kind)
        for w in (self.teacher_preset, self.start, self.optimizer):
            w.currentIndexChanged.connect(self.invalidate)
        for w in (self.teacher_bias, self.seed, self.other_filter):
            w.valueChanged.connect(self.invalidate)
        self.canvas.changed.connect(self.invalidate)
        self.paint_value.valueChanged.connect(lambda v: setattr(self.canvas, "value", v))
        self.paint_radius.valueChanged.connect(lambda v: setattr(self.canvas, "radius", v))
        self.clear_target.clicked.connect(lambda: self.canvas.set_values(self.canvas.values * 0))
        self.copy_target.clicked.connect(self._copy_feature_map)
        self.learning_rate.valueChanged.connect(self._on_learning_rate)
        self.train_button.toggled.connect(self._on_train_toggled)
        self.step_button.clicked.connect(self.step_once)
        self.reset_button.clicked.connect(self.reset)
        self.reveal_button.toggled.connect(self._on_reveal)
        self._on_target_kind()

    def _on_target_kind(self) -> None:
        kind = self.target_kind.currentText()
        self._form.setRowVisible(self._teacher_row, kind == TARGETS[0])
        self._form.setRowVisible(self.other_filter, kind == TARGETS[2])
        for w in (self.paint_row, self.canvas):
            w.setVisible(kind == TARGETS[1])
        self.reveal_button.setEnabled(kind == TARGETS[0])
        if kind != TARGETS[0]:
            self.reveal_button.setChecked(False)
        self.invalidate()

    # -- the trainer ------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget the trainer (target, start or optimiser changed): Train starts afresh."""
        self.pause()
        self.trainer = None
        self._building = self._then = None  # a trainer being built is not wanted any more
        self.teacher_kernels = None
        self._plot_timer.stop()
        self.curve.setData([], [])
        self._show_status("Press Train or Step to start.")
        self._update_reveal()

    def reset(self) -> None:
        """Put the kernels and biases back as they were before training, as one undo step
        (Undo after Reset brings the trained weights back), and start afresh."""
        origin, self._origin = self._origin, None
        self.invalidate()
        self._clear_stalled_message()
        kernel_now, bias_now = self.controller.weights()
        if origin is None or origin[0].shape != kernel_now.shape:
            return
        kernel, bias = origin
        if np.array_equal(kernel, kernel_now) and np.array_equal(bias, bias_now):
            return
        preview = self.controller.preview()
        self._own_change = True
        try:
            preview.show(kernel, bias, "Reset training")
        finally:
            self._own_change = False
        self._show_status("Reset: the kernels are back as they were before training.")

    def _teacher_presets(self, cg: int):
        name = self.teacher_preset.currentText()
        return [MIXED_CYCLE[c % len(MIXED_CYCLE)] for c in range(cg)] if name == MIXED else name

    def _recipe(self):
        """What building a trainer needs, read from the widgets and the document now:
        ``(state, build, work)``; ``build()`` returns ``(trainer, teacher kernels)`` and may
        run on another thread; ``work`` is its multiply-adds, roughly. ValueError: refused
        at once (the target is the filter being trained)."""
        state = self.controller.reader_state()
        kind, f = self.target_kind.currentText(), state["selected_filter"]
        s = state["settings"]
        h, w = self.controller.output_size()
        kh, kw, cg, filters = state["kernel"].shape
        work = max(h, 0) * max(w, 0) * kh * kw * cg
        teacher_bias = self.teacher_bias.value()
        presets = self._teacher_presets(cg)
        painted = self.canvas.values.copy()
        other = self.other_filter.value() - 1
        if kind == TARGETS[2] and other == f:
            raise ValueError(
                f"filter {f + 1} is the one being trained: choose another filter as the target"
            )
        if kind == TARGETS[2]:
            work *= filters
        start, seed = STARTS[self.start.currentText()], self.seed.value()
        optimizer = OPTIMIZERS[self.optimizer.currentText()]
        learning_rate = self.learning_rate.value()

        def build():
            teacher = None
            if kind == TARGETS[0]:
                target, teacher = teacher_target(state, presets, teacher_bias)
            elif kind == TARGETS[1]:
                target = painted
            else:
                bias = state["bias"] if s.use_bias else None
                target = conv2d(
                    state["input"], state["kernel"], bias, kernel_map_filters=(), **s.conv_kwargs()
                ).feature_maps[..., other]
            kernel, bias0 = start_weights(start, state, seed)
            trainer = Trainer(
                FilterSetup.from_state(state),
                kernel,
                bias0,
                target,
                optimizer=optimizer,
                learning_rate=learning_rate,
            )
            return trainer, teacher

        return state, build, work

    def _prepare(self, then) -> bool:
        """Make sure a trainer exists, then call ``then()``. A trainer too big to build
        within a frame is built on the worker thread and ``then()`` follows; False when
        training is refused (the reason is shown)."""
        if self.trainer is not None:
            then()
            return True
        if self._building is not None:
            self._then = then
            return True
        try:
            state, build, work = self._recipe()
            if work <= self.controller.background_work:
                self._install(state, *build())
                then()
                return True
        except ValueError as exc:
            self._refuse(exc)
            return False
        token = object()
        self._building, self._then = token, then
        self._show_status("Preparing the training…")
        future = self._executor.submit(build)
        future.add_done_callback(lambda fut: self._built.emit((token, state, fut)))
        return True

    def _on_built(self, done) -> None:
        token, state, future = done
        if token is not self._building:
            return  # the document or the choices changed meanwhile
        self._building = None
        then, self._then = self._then, None
        try:
            self._install(state, *future.result())
        except ValueError as exc:
            self.pause()
            self._refuse(exc)
            return
        self._show_status()
        if then is not None:
            then()

    def _refuse(self, exc: ValueError) -> None:
        self._show_status(f"Cannot train: {exc}")
        self.window_.show_message(f"Cannot train: {exc}")

    def _install(self, state: dict, trainer: Trainer, teacher) -> None:
        self.trainer, self.teacher_kernels = trainer, teacher
        self._filter = state["selected_filter"]
        self._use_bias = state["settings"].use_bias
        self._activation = state["settings"].activation or "linear"
        if self._origin is None:
            self._origin = (state["kernel"].copy(), state["bias"].copy())

    def _begin_run(self) -> None:
        if self._run is None:  # (the run's preview handle, the steps before it)
            self._run = (self.controller.preview(), self.trainer.steps)

    @property
    def stepping(self) -> bool:
        """Whether a batch of steps is being computed on the worker thread."""
        return self._job is not None

    def _advance(self, n: int) -> None:
        trainer = self.trainer
        if self._job is not None:
            return  # the batch being computed is shown first: ticks meanwhile are skipped
        if trainer.work_per_step * n > self.controller.background_work:
            job = (trainer, self._run[0], trainer.state())
            self._job = job
            future = self._executor.submit(trainer.step, n)
            future.add_done_callback(lambda fut: self._stepped.emit((job, fut)))
            return
        try:
            trainer.step(n)
        except TrainingDiverged as exc:
            self._after_steps(exc)
            return
        self._after_steps(None)

    def _on_stepped(self, done) -> None:
        (trainer, token, before), future = done
        self._job = None
        if trainer is not self.trainer or self._run is None or self._run[0] is not token:
            if trainer is self.trainer:
                trainer.restore(before)  # paused meanwhile: the steps were never shown
            return
        try:
            future.result()
        except TrainingDiverged as exc:
            self._after_steps(exc)
            return
        self._after_steps(None)

    def _after_steps(self, diverged: TrainingDiverged | None) -> None:
        if diverged is not None:
            # Keep the last finite weights in the run's undo step before ending it.
            self._publish(str(diverged))
            self.pause()
            self.window_.show_message(str(diverged))
            return
        if self.trainer.dead:
            message = stalled_message(self._activation)
            if self.trainer.steps > self._run[1]:
                self._publish(message)
            else:
                self._show_status(message)
            self.pause()
            self.window_.show_message(message)
            return
        self._publish()

    def _clear_stalled_message(self) -> None:
        """Take the dead-gradient advice off the status bar once it has been acted on."""
        bar = self.window_.statusBar()
        if bar.currentMessage().startswith("The gradient is zero"):
            bar.clearMessage()

    def _publish(self, note: str | None = None) -> None:
        """Show the trainer's weights and record the run so far as its one undo step."""
        f, t = self._filter, self.trainer
        kernel, bias = self.controller.weights()
        kernel[..., f] = t.kernel
        if self._use_bias:
            bias[f] = t.bias
        preview, first = self._run
        self._own_change = True
        try:
            preview.show(kernel, bias, training_label(f, t.steps - first))
        finally:
            self._own_change = False
        if not self._plot_timer.isActive():
            self._plot_timer.start()
        self._show_status(note)
        self._update_reveal()

    def _plot_losses(self) -> None:
        t = self.trainer
        if t is None:
            return
        losses = np.maximum(np.asarray(t.losses), 1e-30)
        self.curve.setData(np.arange(1, len(losses) + 1), losses)

    # -- buttons and timer ------------------------------------------------------------------
    def _on_train_toggled(self, on: bool) -> None:
        if on:
            self.train_button.setText("Pause")
            if not self._prepare(self._start_training):
                with QtCore.QSignalBlocker(self.train_button):
                    self.train_button.setChecked(False)
                self.train_button.setText("Train")
        else:
            self._then = None  # paused while the trainer is being built: do not start
            self._end_run()

    def _start_training(self) -> None:
        self._run = None
        self._begin_run()
        self._timer.start()

    def _end_run(self) -> None:
        self._timer.stop()
        self._run = None
        self.controller.close_step()
        self.train_button.setText("Train")

    def _tick(self) -> None:
        self._advance(self.steps_per_frame.value())

    def step_once(self) -> None:
        """One optimiser step; consecutive Step presses make one undo step."""
        if self.train_button.isChecked():
            return
        self._prepare(self._step_now)

    def _step_now(self) -> None:
        self._begin_run()
        self._advance(1)

    def pause(self) -> None:
        """Stop training; the run stays in the history as one undo step."""
        self.train_button.setChecked(False)

    def close_guard(self) -> bool:
        self.pause()
        return True

    def _on_learning_rate(self, value: float) -> None:
        if self.trainer is not None:
            self.trainer.learning_rate = value

    # -- the document and frames ------------------------------------------------------------
    def _on_document_changed(self, what) -> None:
        """Someone else changed the document: its weights are no longer the trainer's."""
        if self._own_change:
            return
        self._building = self._then = None
        if self.train_button.isChecked():
            steps = self.trainer.steps if self.trainer is not None else 0
            with QtCore.QSignalBlocker(self.train_button):
                self.train_button.setChecked(False)
            self._end_run()
            self._show_status(f"Stopped after {count(steps, 'step')}: the document changed.")
        self._run = None
        self._origin = None
        self.trainer = None
        self.teacher_kernels = None

    def _on_frame(self, frame) -> None:
        h, w, filters = frame.output_shape
        if h and w:
            self.canvas.set_size(h, w)
        self.other_filter.setMaximum(filters)
        cg = frame.kernel.shape[2]
        bias = " and its bias" if frame.bias_value is not None else ""
        self.heading.setText(
            f"Gradient descent on filter {frame.selected + 1}: its {cg} kernel"
            f"{'s' if cg > 1 else ''}{bias}, so that feature map {frame.selected + 1} "
            "matches the target"
        )
        can_train = frame.feature_maps is not None
        self.train_button.setEnabled(can_train or self.train_button.isChecked())
        self.step_button.setEnabled(can_train)
        self._names = frame.kernel_channel_names
        if self.reveal.isVisible():
            self._update_reveal()

    def _copy_feature_map(self) -> None:
        frame = self.controller.frame
        if frame is not None and frame.feature_maps is not None:
            self.canvas.set_values(frame.feature_maps[..., frame.selected])

    def _show_status(self, note: str | None = None) -> None:
        t = self.trainer
        text = (
            ""
            if t is None or not t.losses
            else (f"step {t.steps} · loss {format_number(t.losses[-1])}")
        )
        self.status.setText(" — ".join(x for x in (text, note) if x))

    def _on_reveal(self, on: bool) -> None:
        self.reveal.setVisible(on)
        self._update_reveal()

    def _update_reveal(self) -> None:
        if not self.reveal_button.isChecked():
            return
        selected = self.controller.filter_kernels()
        kh, kw, cg = selected.shape
        teacher = self.teacher_kernels
        if teacher is None:
            teacher = teacher_kernels(self._teacher_presets(cg), (kh, kw, cg))
        learned = self.trainer.kernel if self.trainer else selected
        names = getattr(self, "_names", ()) or tuple(str(c + 1) for c in range(cg))
        self.reveal.teacher.show_kernels(teacher, names)
        self.reveal.learned.show_kernels(learned, names)
