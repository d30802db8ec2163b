"""Training steps too big for one frame run on a worker thread: the window stays live,
what they compute is what a step on the GUI thread computes, and a batch whose run was
paused meanwhile is dropped."""

import threading

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

import convviz.qt.training.trainer_setup as training
from tests.qt.helpers import PATIENCE_MS, assert_views_match_model, settle
from tests.qt.test_training_dock import LEFT, panel  # noqa: F401  (the fixture)


class StepGate:
    """Trainer steps on a worker thread wait until the test opens the gate: they stand
    for steps of seconds (1024x1024x16 with 11x11 kernels) without a slow test."""

    def __init__(self, monkeypatch):
        real = training.Trainer.step
        self.open = threading.Event()
        self.started = threading.Event()
        self.threads = []
        gate = self

        def step(trainer, n=1):
            if threading.current_thread() is not threading.main_thread():
                gate.threads.append(threading.current_thread().name)
                gate.started.set()
                assert gate.open.wait(PATIENCE_MS / 1000), "the test never opened the gate"
            return real(trainer, n)

        monkeypatch.setattr(training.Trainer, "step", step)


def idle(qtbot, window, panel):  # noqa: F811
    c = window.controller
    qtbot.waitUntil(
        lambda: not panel.stepping and not c.computing and not c.pipeline.pending,
        timeout=PATIENCE_MS,
    )
    settle(window)


def test_a_big_step_runs_on_the_worker_and_equals_a_step_on_the_gui_thread(
    qtbot,
    window,
    panel,  # noqa: F811
    monkeypatch,
):
    c = window.controller
    gate = StepGate(monkeypatch)
    before = c.doc.kernel.copy()
    c.background_work = 0
    qtbot.mouseClick(panel.step_button, LEFT)
    qtbot.waitUntil(gate.started.is_set, timeout=PATIENCE_MS)
    assert panel.stepping
    fired = []
    QtCore.QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=PATIENCE_MS)  # the event loop runs
    window.grab()
    np.testing.assert_array_equal(c.doc.kernel, before)  # nothing shown before it is done
    qtbot.mouseClick(panel.step_button, LEFT)  # pressed meanwhile: the batch comes first
    gate.open.set()
    idle(qtbot, window, panel)
    assert panel.trainer.steps == 1
    assert gate.threads == ["convviz-training_0"]
    learned = c.doc.kernel[..., 1].copy()
    assert not np.array_equal(learned, before[..., 1])
    np.testing.assert_array_equal(learned, panel.trainer.kernel)
    np.testing.assert_array_equal(c.doc.kernel[..., 0], before[..., 0])
    assert c.history.undo_label == "Train filter 2 (1 step)"
    assert_views_match_model(window)

    c.undo()
    np.testing.assert_array_equal(c.doc.kernel, before)
    c.background_work = 10**15  # the same step, on the GUI thread
    qtbot.mouseClick(panel.step_button, LEFT)
    idle(qtbot, window, panel)
    np.testing.assert_array_equal(c.doc.kernel[..., 1], learned)


def test_a_batch_that_ends_after_pause_is_dropped_and_training_goes_on_from_the_shown_weights(
    qtbot,
    window,
    panel,  # noqa: F811
    monkeypatch,
):
    c = window.controller
    gate = StepGate(monkeypatch)
    before = c.doc.kernel.copy()
    label = c.history.undo_label
    c.background_work = 0
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(gate.started.is_set, timeout=PATIENCE_MS)
    qtbot.mouseClick(panel.train_button, LEFT)  # Pause while the batch is computed
    assert not panel.train_button.isChecked()
    gate.open.set()
    qtbot.waitUntil(lambda: not panel.stepping, timeout=PATIENCE_MS)
    idle(qtbot, window, panel)
    assert panel.trainer.steps == 0 and panel.trainer.losses == []  # back as shown
    np.testing.assert_array_equal(c.doc.kernel, before)
    assert c.history.undo_label == label  # no step recorded for what was never shown
    qtbot.mouseClick(panel.step_button, LEFT)
    idle(qtbot, window, panel)
    assert panel.trainer.steps == 1
    np.testing.assert_array_equal(c.doc.kernel[..., 1], panel.trainer.kernel)
    assert_views_match_model(window)


@pytest.mark.parametrize("during", ["edit", "settings"])
def test_a_batch_whose_document_changed_meanwhile_is_dropped(
    qtbot,
    window,
    panel,  # noqa: F811
    monkeypatch,
    during,
):
    c = window.controller
    gate = StepGate(monkeypatch)
    c.background_work = 0
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(gate.started.is_set, timeout=PATIENCE_MS)
    if during == "edit":
        c.set_kernel_value(0, 0, 0, 0.5)
    else:
        c.change_settings(filters=3)
    assert panel.trainer is None and not panel.train_button.isChecked()
    after = c.doc.kernel.copy()
    gate.open.set()
    idle(qtbot, window, panel)
    np.testing.assert_array_equal(c.doc.kernel, after)  # the stale batch never landed
    assert panel.trainer is None
    assert_views_match_model(window)


class BuildGate:
    """The teacher's target, computed off the GUI thread, waits for the test's signal."""

    def __init__(self, monkeypatch):
        real = training.teacher_target
        self.open = threading.Event()
        self.started = threading.Event()
        gate = self

        def teacher_target(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                gate.started.set()
                assert gate.open.wait(PATIENCE_MS / 1000), "the test never opened the gate"
            return real(*args, **kwargs)

        monkeypatch.setattr(training, "teacher_target", teacher_target)


def test_a_big_trainer_is_built_on_the_worker_and_training_starts_when_it_is_ready(
    qtbot,
    window,
    panel,  # noqa: F811
    monkeypatch,
):
    c = window.controller
    gate = BuildGate(monkeypatch)
    c.background_work = 0
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(gate.started.is_set, timeout=PATIENCE_MS)
    assert panel.train_button.isChecked() and panel.train_button.text() == "Pause"
    assert panel.trainer is None and panel.status.text() == "Preparing the training…"
    fired = []
    QtCore.QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=PATIENCE_MS)  # the event loop runs
    gate.open.set()
    qtbot.waitUntil(
        lambda: panel.trainer is not None and panel.trainer.steps >= 20, timeout=PATIENCE_MS
    )
    qtbot.mouseClick(panel.train_button, LEFT)  # Pause
    idle(qtbot, window, panel)
    np.testing.assert_array_equal(c.doc.kernel[..., 1], panel.trainer.kernel)
    assert c.history.undo_label.startswith("Train filter 2 (")
    assert_views_match_model(window)


@pytest.mark.parametrize("during", ["pause", "edit"])
def test_a_trainer_built_for_nothing_is_not_used(
    qtbot,
    window,
    panel,  # noqa: F811
    monkeypatch,
    during,
):
    c = window.controller
    gate = BuildGate(monkeypatch)
    c.background_work = 0
    before = c.doc.kernel.copy()
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(gate.started.is_set, timeout=PATIENCE_MS)
    if during == "pause":
        qtbot.mouseClick(panel.train_button, LEFT)
    else:
        c.set_kernel_value(0, 0, 0, 0.5)
        before = c.doc.kernel.copy()
    assert not panel.train_button.isChecked()
    gate.open.set()
    panel._executor.submit(lambda: None).result()  # the build has finished...
    QtWidgets.QApplication.processEvents()  # ...and its result has been delivered
    idle(qtbot, window, panel)
    np.testing.assert_array_equal(c.doc.kernel, before)  # no step was made or shown
    if during == "edit":
        assert panel.trainer is None  # built for the old document: dropped
    else:
        assert panel.trainer is None or panel.trainer.steps == 0
