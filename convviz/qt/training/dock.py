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
from PySide6 import QtCore, QtWidgets

from convviz.core.numbers import format_number
from convviz.core.training import Trainer
from convviz.core.training_loss import teacher_kernels
from convviz.core.words import count
from convviz.qt.base.workers import background_executor
from convviz.qt.training.controls import TrainingControls
from convviz.qt.training.runs import TrainingRuns
from convviz.qt.training.trainer_setup import TrainerSetup

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


class TrainingPanel(TrainingControls, TrainerSetup, TrainingRuns, QtWidgets.QDockWidget):
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
