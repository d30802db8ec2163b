"""Building the "Learn a kernel" dock's trainer from its choices and the document, on
the worker thread when it is big, and forgetting or resetting it (a mixin of
:class:`~convviz.qt.training.dock.TrainingPanel`).
"""

from __future__ import annotations

import numpy as np

from convviz.core.conv import conv2d
from convviz.core.training import Trainer, start_weights
from convviz.core.training_loss import FilterSetup, teacher_target
from convviz.qt.training.controls import MIXED, MIXED_CYCLE, OPTIMIZERS, STARTS, TARGETS


class TrainerSetup:
    """The trainer: made from the choices, built where it fits, forgotten when they change."""

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
