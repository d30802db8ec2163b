"""Running the "Learn a kernel" dock's trainer: steps, on the worker thread when they
are big, each batch shown through the run's preview handle as one undo step; the Train,
Step and Pause buttons and the timer (a mixin of
:class:`~convviz.qt.training.dock.TrainingPanel`).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from convviz.core.training import TrainingDiverged, stalled_message, training_label


class TrainingRuns:
    """A run: Train ... Pause, or a series of Step presses, kept as one undo step."""

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
