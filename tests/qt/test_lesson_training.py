"""Lesson 7 done as its text tells the class, through the real "Learn a kernel" dock."""

import re

import numpy as np
from PySide6 import QtCore

from convviz.core.lessons import LESSONS, lesson_path
from convviz.io.session import load_session
from convviz.qt.training.dock import install_training
from tests.qt.helpers import PATIENCE_MS, assert_views_match_model, settle

LEFT = QtCore.Qt.MouseButton.LeftButton
LESSON = next(lesson for lesson in LESSONS if lesson.key == "07-learn-a-kernel")
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def test_lesson_text_quotes_the_docks_real_labels(window):
    panel = install_training(window)
    quoted = set(re.findall(r'"([^"]+)"', LESSON.text))
    view_entries = {a.text() for a in window.view_menu.actions()}
    assert "Learn a kernel (train a filter)…" in quoted & view_entries
    assert panel.target_kind.currentText() == "hidden teacher filter" in quoted
    assert panel.teacher_preset.currentText() == "sobel x" in quoted
    assert panel.reveal_button.text() == "Reveal teacher" in quoted
    assert panel.train_button.text() == "Train" and "Press Train" in LESSON.text
    assert panel.plot.getAxis("left").labelText.startswith("loss = mean((feature map − target)²)")


def test_training_the_lesson_learns_sobel_x_and_undo_brings_the_random_kernel_back(qtbot, window):
    c = window.controller
    c.open_state(load_session(lesson_path(LESSON)).state)
    settle(window)
    random_kernel = c.doc.kernel.copy()
    panel = install_training(window)
    panel.show()
    panel.steps_per_frame.setValue(100)  # the class waits ~4 s at 10; the test need not
    qtbot.mouseClick(panel.train_button, LEFT)
    qtbot.waitUntil(lambda: panel.trainer.steps >= 1200, timeout=PATIENCE_MS)
    qtbot.mouseClick(panel.train_button, LEFT)
    assert panel.trainer.losses[-1] < 1e-4 * panel.trainer.losses[0]
    np.testing.assert_allclose(c.doc.kernel[:, :, 0, 0], SOBEL_X, atol=0.01)
    settle(window)
    assert_views_match_model(window)
    qtbot.mouseClick(panel.reveal_button, LEFT)
    np.testing.assert_array_equal(panel.reveal.teacher.kernels[:, :, 0], SOBEL_X)
    window.undo_action.trigger()
    np.testing.assert_array_equal(c.doc.kernel, random_kernel)
