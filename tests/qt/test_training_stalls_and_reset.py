"""Learn a kernel: a dead ReLU is explained, and Reset puts the kernels back."""

import numpy as np
from PySide6 import QtCore

from convviz.qt.training.dock import install_training
from tests.qt.helpers import PATIENCE_MS, assert_views_match_model, settle

LEFT = QtCore.Qt.MouseButton.LeftButton


def test_relu_from_zeros_stops_and_says_what_to_do(qtbot, window):
    c = window.controller
    assert c.doc.settings.activation == "relu"
    settle(window)
    before = c.doc.kernel.copy()
    panel = install_training(window)
    panel.show()
    panel.start.setCurrentText("zeros")
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(lambda: not panel.train_button.isChecked(), timeout=PATIENCE_MS)
    text = panel.status.text()
    assert "gradient is zero" in text and "dead ReLU" in text
    assert "leaky_relu" in text and "random (Glorot uniform)" in text
    assert panel.trainer.steps == 0
    np.testing.assert_array_equal(c.doc.kernel, before)  # nothing moved, nothing recorded


def test_reset_restores_the_kernels_from_before_training_as_one_undo_step(qtbot, window):
    c = window.controller
    settle(window)
    before_kernel, before_bias = c.doc.kernel.copy(), c.doc.bias.copy()
    panel = install_training(window)
    panel.show()
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(lambda: panel.trainer.steps >= 30, timeout=PATIENCE_MS)
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.mouseClick(panel.step_button, LEFT)  # a second run on the same trainer
    losses = panel.trainer.losses
    assert losses[-1] < losses[0]
    trained_kernel, trained_bias = c.doc.kernel.copy(), c.doc.bias.copy()
    assert not np.array_equal(trained_kernel, before_kernel)
    qtbot.mouseClick(panel.reset_button, LEFT)
    np.testing.assert_array_equal(c.doc.kernel, before_kernel)
    np.testing.assert_array_equal(c.doc.bias, before_bias)
    xs = panel.curve.getData()[0]
    assert panel.trainer is None and (xs is None or len(xs) == 0)  # the plot starts afresh
    assert window.undo_action.text() == "Undo Reset training"
    assert_views_match_model(window)
    # Reset is one step of its own: Undo brings the trained kernels back...
    window.undo_action.trigger()
    np.testing.assert_array_equal(c.doc.kernel, trained_kernel)
    np.testing.assert_array_equal(c.doc.bias, trained_bias)
    # ...and the training runs below it are still there.
    window.undo_action.trigger()
    window.undo_action.trigger()
    np.testing.assert_array_equal(c.doc.kernel, before_kernel)


def test_default_training_on_the_start_scene_learns(qtbot, window):
    c = window.controller
    settle(window)
    panel = install_training(window)
    panel.show()
    panel.steps_per_frame.setValue(100)
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(lambda: panel.trainer.steps >= 500, timeout=PATIENCE_MS)
    qtbot.mouseClick(panel.train_button, LEFT)
    losses = panel.trainer.losses
    assert losses[0] > 1e-3 and losses[-1] < losses[0] / 10
    assert not np.array_equal(c.doc.kernel[..., 0], np.zeros_like(c.doc.kernel[..., 0]))


def test_the_loss_plot_follows_the_steps_a_few_times_a_second(qtbot, window):
    settle(window)
    panel = install_training(window)
    panel.show()
    for _ in range(3):
        qtbot.mouseClick(panel.step_button, LEFT)
        qtbot.waitUntil(lambda: not panel.stepping, timeout=PATIENCE_MS)
    losses = np.maximum(np.asarray(panel.trainer.losses), 1e-30)
    assert len(losses) == 3

    def plotted():
        ys = panel.curve.getData()[1]
        return ys is not None and len(ys) == len(losses)

    qtbot.waitUntil(plotted, timeout=PATIENCE_MS)  # redrawn once, after the burst
    np.testing.assert_allclose(panel.curve.yData, losses)
