"""Hundreds of random user actions on the real window; after each, the views are right.

After every action: no exception escaped, every panel equals conv2d of the document,
and (in its own rule) undo then redo returns the exact arrays.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from convviz.core.model import default_document
from convviz.core.presets import KERNEL_PRESETS
from convviz.io.session import load_session, save_session
from convviz.qt.app import configure_pyqtgraph
from convviz.qt.control.controller import Controller
from convviz.qt.main_window import MainWindow
from tests.qt.helpers import assert_views_match_model, drag, image_to_viewport, scene_image

pytestmark = pytest.mark.slow  # run by CI; `pytest -m "not slow"` skips it

ACTIONS = {"count": 0}


def arrays(doc):
    return (doc.input.copy(), doc.kernel.copy(), doc.bias.copy(), doc.settings, doc.channel_names)


def same(a, b):
    return (
        np.array_equal(a[0], b[0])
        and np.array_equal(a[1], b[1])
        and np.array_equal(a[2], b[2])
        and a[3] == b[3]
        and a[4] == b[4]
    )


class WindowMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        configure_pyqtgraph()
        self.window = MainWindow(Controller(default_document(scene_image(9, 11, 3))))
        self.window.resize(1200, 800)
        # Hundreds of value labels per small map would dominate the run time; they have
        # their own tests.
        self.window.inspector.numbers_action.setChecked(False)
        self.window.show()
        self.c = self.window.controller
        self.folder = tempfile.mkdtemp(prefix="convviz-stateful-")

    def teardown(self):
        shutil.rmtree(self.folder, ignore_errors=True)
        self.window.close()
        self.window.deleteLater()

    def _did(self):
        ACTIONS["count"] += 1

    @rule(
        ch=st.integers(0, 15),
        r0=st.floats(-2, 12),
        c0=st.floats(-2, 12),
        r1=st.floats(-2, 12),
        c1=st.floats(-2, 12),
        value=st.sampled_from([0.0, 0.5, 1.0]),
    )
    def paint_by_mouse(self, ch, r0, c0, r1, c1, value):
        cells = [c for c in self.window.input_panel.cells if c.index >= 0]
        cell = cells[ch % len(cells)]
        self.window.brush.value.setValue(value)
        view, a = image_to_viewport(cell, r0, c0)
        _, b = image_to_viewport(cell, r1, c1)
        drag(view, [a, b])
        self._did()

    @rule(
        r=st.integers(0, 10),
        c=st.integers(0, 10),
        k=st.integers(0, 15),
        text=st.sampled_from(["1", "-1.5", "1e-3", "1/9", "0", "abc", "2*3", ""]),
    )
    def type_in_cell(self, r, c, k, text):
        kh, kw, cg, _ = self.c.doc.kernel.shape
        cell = self.window.editor.cell(r % kh, c % kw, k % cg)
        cell.setFocus()
        cell.selectAll()
        cell.insert(text)
        QTest.keyClick(cell, QtCore.Qt.Key.Key_Return)
        self._did()

    @rule(name=st.sampled_from(KERNEL_PRESETS), scope=st.sampled_from(["filter", "layer"]))
    def preset(self, name, scope):
        self.c.apply_preset(name, scope=scope)
        self._did()

    @rule(filters=st.integers(1, 6))
    def set_filters(self, filters):
        self.window.layer_panel.filters.setValue(filters)
        self._did()

    @rule(kh=st.integers(1, 5), kw=st.integers(1, 5))
    def set_kernel_size(self, kh, kw):
        self.window.layer_panel.kh.setValue(kh)
        self.window.layer_panel.kw.setValue(kw)
        self._did()

    @rule(
        s=st.integers(1, 4),
        d=st.integers(1, 3),
        padding=st.sampled_from(["valid", "same", "full"]),
        mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    )
    def set_geometry(self, s, d, padding, mode):
        lp = self.window.layer_panel
        lp.sh.setValue(s)
        lp.dw.setValue(d)
        lp.padding.setCurrentText(padding)
        lp.padding_mode.setCurrentText(mode)
        self._did()

    @rule(
        act=st.sampled_from(["linear", "relu", "sigmoid", "tanh", "leaky_relu"]), bias=st.booleans()
    )
    def set_activation(self, act, bias):
        self.window.layer_panel.activation.setCurrentText(act)
        self.window.layer_panel.use_bias.setChecked(bias)
        self._did()

    @rule(h=st.integers(3, 12), w=st.integers(3, 12), c=st.integers(1, 4))
    def new_blank(self, h, w, c):
        self.c.new_blank(h, w, c)
        self._did()

    @rule(name=st.sampled_from(["digit", "colour", "checkerboard", "gradient"]))
    def load_sample(self, name):
        self.window.load_sample(name)
        self._did()

    @rule(f=st.integers(0, 15))
    def select(self, f):
        self.c.select_filter(f % self.c.doc.settings.filters)
        self._did()

    @rule(ch=st.integers(-1, 15), v=st.sampled_from([0.0, 0.25, 1.0]))
    def fill(self, ch, v):
        self.c.fill_channel(-1 if ch < 0 else ch % self.c.doc.channels, v)
        self._did()

    @rule()
    def undo_then_redo_is_exact(self):
        before = arrays(self.c.doc)
        if self.c.history.undo():
            self.c.history.redo()
        assert same(arrays(self.c.doc), before)
        self._did()

    @rule()
    def save_then_open_session(self):
        path = Path(self.folder) / f"lesson{ACTIONS['count']}.convviz"
        before = arrays(self.c.doc)
        save_session(path, self.c.state())
        self.c.new_blank(3, 3, 1)  # something else in between
        self.c.open_state(load_session(path).state)
        assert same(arrays(self.c.doc), before)
        self._did()

    @rule(steps=st.integers(0, 60))
    def animation_steps(self, steps):
        anim = self.window.inspector.anim
        anim.step_by(steps)
        frame = self.c.refresh_now()
        QtWidgets.QApplication.processEvents()
        if frame.feature_maps is not None:
            shown = self.window.sum_panel.feature.image.image
            reached = min(anim.step + 1, shown.size)
            assert np.count_nonzero(~np.isnan(shown)) == reached
        anim.active.setChecked(False)  # the invariant compares complete maps
        self._did()

    @rule()
    def undo(self):
        self.c.undo()
        self._did()

    @invariant()
    def views_show_the_model(self):
        frame = self.c.refresh_now()
        if frame.feature_maps is not None:
            assert_views_match_model(self.window)


WindowMachine.TestCase.settings = settings(
    # Derandomized, so it never flakes on the data; which rules run still varies a little
    # with the process (about 500-800 actions), hence more examples than the 500 needed.
    max_examples=40,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_random_sessions(qtbot):
    ACTIONS["count"] = 0
    WindowMachine.TestCase().runTest()
    # Hundreds of actions, not a handful: the report quotes this number.
    assert ACTIONS["count"] >= 500, ACTIONS["count"]
    print(f"random actions run: {ACTIONS['count']}")
