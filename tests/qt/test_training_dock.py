"""The "Learn a kernel" dock driven through its real buttons."""

import numpy as np
import pytest
from PySide6 import QtCore

from convviz.core.numbers import format_number
from convviz.core.presets import make_kernel
from convviz.qt.training.controls import TARGETS
from convviz.qt.training.dock import install_training
from tests.qt.helpers import PATIENCE_MS, assert_views_match_model, drag, settle

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def panel(window):
    window.controller.change_settings(activation="linear")
    window.controller.select_filter(1)
    settle(window)
    panel = install_training(window)
    panel.show()
    return panel


def train_for(qtbot, panel, frames=4):
    qtbot.mouseClick(panel.train_button, LEFT)
    assert panel.train_button.isChecked()
    qtbot.waitUntil(
        lambda: panel.trainer is not None and panel.trainer.steps >= frames * 10,
        timeout=PATIENCE_MS,
    )


def test_training_changes_the_selected_filter_and_lowers_the_loss(qtbot, window, panel):
    doc = window.controller.doc
    before = doc.kernel.copy()
    train_for(qtbot, panel)
    losses = panel.trainer.losses
    assert losses[-1] < losses[0]
    assert not np.array_equal(doc.kernel[..., 1], before[..., 1])
    np.testing.assert_array_equal(doc.kernel[..., 0], before[..., 0])  # other filter kept
    qtbot.mouseClick(panel.train_button, LEFT)
    np.testing.assert_array_equal(doc.kernel[..., 1], panel.trainer.kernel)
    assert_views_match_model(window)  # kernel cells and maps show the learned filter


def test_pause_commits_one_undo_step_and_undo_restores_the_kernels(qtbot, window, panel):
    c = window.controller
    before_kernel, before_bias = c.doc.kernel.copy(), c.doc.bias.copy()
    label_before = c.history.undo_label
    train_for(qtbot, panel)
    qtbot.mouseClick(panel.train_button, LEFT)
    assert not panel.train_button.isChecked()
    steps = panel.trainer.steps
    qtbot.wait(100)  # paused: no more frames, no more steps
    assert panel.trainer.steps == steps
    assert window.undo_action.text() == f"Undo Train filter 2 ({steps} steps)"
    window.undo_action.trigger()  # one undo takes the whole run back
    np.testing.assert_array_equal(c.doc.kernel, before_kernel)
    np.testing.assert_array_equal(c.doc.bias, before_bias)
    assert c.history.undo_label == label_before
    assert_views_match_model(window)


def test_consecutive_steps_are_one_undo_step(qtbot, window, panel):
    c = window.controller
    before = c.doc.kernel.copy()
    label_before = c.history.undo_label
    for _ in range(3):
        qtbot.mouseClick(panel.step_button, LEFT)
    assert panel.trainer.steps == 3
    assert c.history.undo_label == "Train filter 2 (3 steps)"
    c.undo()
    np.testing.assert_array_equal(c.doc.kernel, before)
    assert c.history.undo_label == label_before


def test_reveal_shows_the_teacher_and_learned_kernels(qtbot, window, panel):
    panel.teacher_preset.setCurrentText("sobel x")
    qtbot.mouseClick(panel.step_button, LEFT)
    qtbot.mouseClick(panel.reveal_button, LEFT)
    assert panel.reveal.isVisible()
    sobel = make_kernel("sobel x", 3, 3)
    cg = window.controller.doc.kernel_channels
    for k in range(cg):
        shown = panel.reveal.teacher.numbers(k)
        assert shown == [[format_number(v) for v in row] for row in sobel]
        learned = panel.reveal.learned.numbers(k)
        kernel = window.controller.doc.kernel[:, :, k, 1]
        assert learned == [[format_number(v) for v in row] for row in kernel]


def test_switching_the_input_while_training_stops_it(qtbot, window, panel):
    c = window.controller
    train_for(qtbot, panel, frames=2)
    trained = c.doc.kernel.copy()
    window.load_sample("colour")
    assert not panel.train_button.isChecked() and not panel._timer.isActive()
    qtbot.wait(100)  # no tick may run on the new input
    assert "Stopped after" in panel.status.text()
    settle(window)
    c.undo()  # back to the old input with the trained kernels...
    np.testing.assert_array_equal(c.doc.kernel, trained)
    assert c.history.undo_label.startswith("Train filter 2")
    # ...and training again works on whatever the document now is.
    train_for(qtbot, panel, frames=1)
    qtbot.mouseClick(panel.train_button, LEFT)
    assert_views_match_model(window)


def test_undo_during_training_takes_the_run_back(qtbot, window, panel):
    c = window.controller
    before = c.doc.kernel.copy()
    train_for(qtbot, panel, frames=2)
    window.undo_action.trigger()
    assert not panel.train_button.isChecked()
    np.testing.assert_array_equal(c.doc.kernel, before)
    assert c.history.redo_label.startswith("Train filter 2")


def test_settings_change_while_training_stops_cleanly(qtbot, window, panel):
    c = window.controller
    train_for(qtbot, panel, frames=1)
    c.change_settings(kernel_size=(5, 5))
    assert not panel.train_button.isChecked()
    c.undo()
    c.undo()
    settle(window)
    assert c.doc.kernel.shape[:2] == (3, 3)
    assert_views_match_model(window)


def test_painted_target_and_other_filter_targets(qtbot, window, panel):
    c = window.controller
    panel.target_kind.setCurrentText(TARGETS[1])
    h, w, _ = c.frame.output_shape
    assert panel.canvas.values.shape == (h, w)
    panel.paint_value.setValue(1.0)
    panel.paint_radius.setValue(0.0)
    item = panel.canvas.item
    view = panel.canvas
    panel.resize(500, 1000)
    qtbot.waitUntil(lambda: view.isVisible() and view.height() > 100, timeout=PATIENCE_MS)
    settle(window)

    def to_viewport(row, col):
        return view.mapFromScene(item.mapToScene(QtCore.QPointF(col, row)))

    drag(view, [to_viewport(2.5, 1.5), to_viewport(2.5, 4.0), to_viewport(2.5, 7.5)])
    assert panel.canvas.values[2, 1:8].min() == 1.0 and panel.canvas.values.sum() > 0
    qtbot.mouseClick(panel.step_button, LEFT)
    np.testing.assert_array_equal(panel.trainer.target, panel.canvas.values)

    panel.target_kind.setCurrentText(TARGETS[2])
    panel.other_filter.setValue(2)  # the trained filter itself: refused with a message
    qtbot.mouseClick(panel.step_button, LEFT)
    assert panel.trainer is None and "choose another filter" in panel.status.text()
    panel.other_filter.setValue(1)
    qtbot.mouseClick(panel.step_button, LEFT)
    np.testing.assert_allclose(panel.trainer.target, c.frame.feature_maps[..., 0], rtol=1e-6)


def test_diverging_training_stops_with_a_message(qtbot, window, panel):
    panel.optimizer.setCurrentText("SGD")
    panel.learning_rate.setValue(10)
    panel.steps_per_frame.setValue(200)
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(lambda: not panel.train_button.isChecked(), timeout=PATIENCE_MS)
    assert "Lower the learning rate" in panel.status.text()
    assert np.isfinite(window.controller.doc.kernel).all()
    assert_views_match_model(window)


def test_closing_the_window_pauses_training(qtbot, window, panel):
    train_for(qtbot, panel, frames=1)
    assert all(guard() for guard in window.close_guards)
    assert not panel._timer.isActive()
    assert window.controller.history.undo_label.startswith("Train filter 2")


def test_training_pauses_while_the_unsaved_changes_question_is_open(qtbot, window, panel, tmp_path):
    from convviz.qt.sessions.manager import install_sessions

    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    manager = install_sessions(window, settings=settings, recovery_dir=tmp_path / "rec")
    train_for(qtbot, panel, frames=2)
    seen = []

    def ask():
        seen.append((panel.train_button.isChecked(), window.controller.doc.kernel.copy()))
        qtbot.wait(100)  # the question is open: nothing may train meanwhile
        seen.append(window.controller.doc.kernel.copy())
        return "cancel"

    manager.ask_unsaved = ask
    assert not manager.open_lesson(0)
    manager.ask_unsaved = lambda: "discard"  # let the test's window close
    (running, before), after = seen
    assert not running
    np.testing.assert_array_equal(after, before)


def test_a_deeper_layer_trains_on_what_the_layer_before_makes(qtbot, window, panel):
    c = window.controller
    c.add_layer("conv")
    settle(window)
    first = c.doc.after  # nothing after layer 2
    layer_one = c.doc.before[0]
    before = c.doc.kernel.copy()
    for _ in range(3):
        qtbot.mouseClick(panel.step_button, LEFT)
    assert panel.trainer.steps == 3
    assert c.doc.shown == 1 and not np.array_equal(c.doc.kernel[..., 0], before[..., 0])
    assert c.doc.before[0] == layer_one and c.doc.after == first  # only layer 2 learned
    assert_views_match_model(window)
    c.show_layer(0)
    settle(window)
    c.undo()  # the steps were made on layer 2: shown again, then taken back
    assert c.doc.shown == 1
    np.testing.assert_array_equal(c.doc.kernel, before)
