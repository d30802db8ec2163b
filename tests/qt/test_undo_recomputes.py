"""Undo and redo recompute only what the step changed, never the whole layer for one edit.

The work the layer does is counted where it happens: a full compute builds a new
``LayerCache``; a brush stroke updates the output box its input box reaches; a kernel
value or bias edit updates its one filter tap by tap. A regression that made undo
recompute the whole layer (a hitch of seconds at 1024²×16) fails here on a tiny input.
"""

from collections import Counter

import numpy as np
import pytest

from convviz.core import incremental
from convviz.core.conv import conv2d
from tests.qt.helpers import settle


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of LayerCache's constructor and of its update methods."""
    calls = Counter()
    cls = incremental.LayerCache
    for name in ("__init__", "inputs_changed", "filter_changed", "tap_changed", "bias_changed"):
        original = getattr(cls, name)

        def wrapper(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)
    return calls


def _fresh(doc):
    """The layer computed from scratch, for comparison."""
    return conv2d(
        doc.input,
        doc.kernel,
        doc.bias if doc.settings.use_bias else None,
        **doc.settings.conv_kwargs(),
    ).feature_maps


def _step(window, counted, action):
    # The idle resync (its own tests check it) recomputes an edited filter once editing
    # has paused: on a busy machine a slow step could reach it and be counted here.
    window.controller._resync_timer.setInterval(3_600_000)
    settle(window)
    counted.clear()
    action()
    settle(window)
    np.testing.assert_allclose(
        window.controller.frame.feature_maps, _fresh(window.controller.doc), rtol=1e-5, atol=1e-5
    )
    return dict(counted)


def test_undo_and_redo_of_a_kernel_value_do_not_recompute_the_layer(window, counted):
    c = window.controller
    settle(window)
    edit = _step(window, counted, lambda: c.set_kernel_value(1, 2, 0, 0.75))
    undo = _step(window, counted, c.undo)
    redo = _step(window, counted, c.redo)
    for counts in (edit, undo, redo):
        assert counts.get("__init__", 0) == 0, counts  # no full compute
        assert counts.get("tap_changed", 0) + counts.get("filter_changed", 0) == 1, counts


def test_undo_and_redo_of_a_bias_do_not_recompute_the_layer(window, counted):
    c = window.controller
    settle(window)
    for action in (lambda: c.set_bias(0.25), c.undo, c.redo):
        counts = _step(window, counted, action)
        assert counts.get("__init__", 0) == 0, counts
        assert counts.get("bias_changed", 0) + counts.get("filter_changed", 0) == 1, counts


def test_undo_and_redo_of_a_brush_stroke_update_only_its_box(window, counted):
    c = window.controller
    settle(window)

    def stroke():
        c.begin_stroke(0, 3.0, 3.0, 1.5, 1.0)
        c.stroke_to(3.0, 6.0)
        c.end_stroke()

    before = c.doc.input[3, 4, 0]
    assert before != 1.0
    for action, expected in ((stroke, 1.0), (c.undo, before), (c.redo, 1.0)):
        counts = _step(window, counted, action)
        assert counts.get("__init__", 0) == 0, counts
        assert counts.get("inputs_changed", 0) >= 1, counts
        assert c.doc.input[3, 4, 0] == expected


def test_undo_of_a_settings_change_recomputes_the_layer_once(window, counted):
    c = window.controller
    settle(window)
    for action in (lambda: c.change_settings(filters=3), c.undo, c.redo):
        counts = _step(window, counted, action)
        assert counts.get("__init__", 0) == 1, counts  # a new shape: one full compute
