"""Large recomputes run off the GUI thread: the window stays live and the newest edit wins."""

import threading

import numpy as np
from PySide6 import QtCore

import convviz.core.pipeline as pipeline
from tests.qt.helpers import PATIENCE_MS, assert_views_match_model


class Gate:
    """Whole-layer recomputes that wait until the test opens the gate.

    Stands for a layer slow enough (1024×1024) to be computed in the background, without
    depending on how fast the machine is: what happens while a job runs is decided by the
    test, not by a sleep.
    """

    def __init__(self, monkeypatch):
        self.real = pipeline.LayerCache
        self.open = threading.Event()
        self.started = threading.Event()
        self.threads = []
        monkeypatch.setattr(pipeline, "LayerCache", self)

    def __call__(self, *args, **kwargs):
        self.threads.append(threading.current_thread().name)
        self.started.set()
        assert self.open.wait(PATIENCE_MS / 1000), "the test never opened the gate"
        return self.real(*args, **kwargs)


def test_a_slow_recompute_runs_in_the_background_and_stale_results_are_dropped(
    window, qtbot, monkeypatch
):
    c = window.controller
    gate = Gate(monkeypatch)
    c.background_work = 0  # every whole-layer recompute goes to the worker
    shown = []
    c.frameReady.connect(lambda frame: shown.append(frame.filters))

    c.change_settings(filters=3)
    qtbot.waitUntil(lambda: c.computing and gate.started.is_set(), timeout=PATIENCE_MS)
    # The event loop runs while the worker computes: a timer fires, the window repaints.
    fired = []
    QtCore.QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=PATIENCE_MS)
    window.grab()
    assert c.computing
    c.change_settings(filters=4)  # while the first one is still computing
    gate.open.set()
    qtbot.waitUntil(lambda: not c.computing and c.frame.filters == 4, timeout=PATIENCE_MS)

    assert all(name.startswith("convviz-layer") for name in gate.threads)
    assert 3 not in shown  # the stale result for 3 filters was never shown
    assert c.doc.settings.filters == 4
    monkeypatch.setattr(pipeline, "LayerCache", gate.real)
    assert_views_match_model(window)


def test_painting_while_the_layer_computes_is_not_lost(window, qtbot, monkeypatch):
    c = window.controller
    gate = Gate(monkeypatch)
    c.background_work = 0
    c.change_settings(kernel_size=(5, 5))
    qtbot.waitUntil(lambda: c.computing, timeout=PATIENCE_MS)
    c.begin_stroke(0, 1.5, 1.5, 1.0, 0.0)  # paint during the background recompute
    c.stroke_to(8.5, 8.5)
    c.end_stroke()
    assert c.computing
    gate.open.set()
    qtbot.waitUntil(lambda: not c.computing and not c.pipeline.pending, timeout=PATIENCE_MS)
    monkeypatch.setattr(pipeline, "LayerCache", gate.real)
    assert np.all(c.doc.input[np.arange(2, 8), np.arange(2, 8), 0] == 0)
    assert_views_match_model(window)


class FilterGate:
    """Whole-filter recomputes that wait until the test opens the gate (see Gate)."""

    def __init__(self, monkeypatch):
        self.real = pipeline.LayerCache.filter_outputs
        self.open = threading.Event()
        self.started = threading.Event()
        self.threads = []
        gate = self

        def filter_outputs(cache, *args):
            gate.threads.append(threading.current_thread().name)
            gate.started.set()
            assert gate.open.wait(PATIENCE_MS / 1000), "the test never opened the gate"
            return gate.real(cache, *args)

        monkeypatch.setattr(pipeline.LayerCache, "filter_outputs", filter_outputs)


def test_a_big_filter_recompute_runs_in_the_background_and_edits_meanwhile_are_kept(
    window, qtbot, monkeypatch
):
    c = window.controller
    assert_views_match_model(window)
    gate = FilterGate(monkeypatch)
    messages = []
    c.status.connect(messages.append)
    c.background_work = 0  # stands for a filter of 1024x1024x16 with 11x11 kernels
    c.select_filter(1)  # a new selection: the whole layer, on the worker as before
    qtbot.waitUntil(lambda: not c.computing and not c.pipeline.pending, timeout=PATIENCE_MS)
    assert_views_match_model(window)
    c.apply_preset("sharpen")  # every value of filter 2 changes: recomputed whole
    qtbot.waitUntil(lambda: c.computing and gate.started.is_set(), timeout=PATIENCE_MS)
    assert messages[-1] == "Computing filter 2…"
    fired = []
    QtCore.QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=PATIENCE_MS)  # the window is live
    c.begin_stroke(1, 2.5, 2.5, 1.0, 1.0)  # paint meanwhile
    c.stroke_to(6.5, 9.5)
    c.end_stroke()
    gate.open.set()
    qtbot.waitUntil(lambda: not c.computing and not c.pipeline.pending, timeout=PATIENCE_MS)
    assert all(name.startswith("convviz-layer") for name in gate.threads)
    assert messages[-1] == ""
    assert (c.doc.input[4, 4:8, 1] == 1).all()
    assert_views_match_model(window)


def test_a_filter_result_computed_for_an_older_layer_is_dropped(window, qtbot, monkeypatch):
    c = window.controller
    assert_views_match_model(window)
    gate = FilterGate(monkeypatch)
    c.background_work = 0
    c.apply_preset("sharpen")
    qtbot.waitUntil(lambda: c.computing and gate.started.is_set(), timeout=PATIENCE_MS)
    c.change_settings(activation="linear", padding="same")  # while filter 1 computes
    gate.open.set()
    qtbot.waitUntil(lambda: not c.computing and not c.pipeline.pending, timeout=PATIENCE_MS)
    assert c.frame.settings.padding == "same" and c.frame.activation == "linear"
    assert_views_match_model(window)


def test_a_large_first_layer_is_computed_after_the_window_opens(qtbot, monkeypatch):
    from convviz.core.model import default_document
    from convviz.qt.app import configure_pyqtgraph
    from convviz.qt.control.controller import Controller
    from convviz.qt.main_window import MainWindow
    from tests.qt.helpers import scene_image

    configure_pyqtgraph()
    gate = Gate(monkeypatch)
    c = Controller(default_document(scene_image(h=30, w=34, c=3, seed=8)))
    c.background_work = 0  # stands for 1024x1024x16 with 16 filters of 11x11: seconds
    window = MainWindow(c)  # returns while the layer is still being computed
    qtbot.addWidget(window)
    window.show()
    assert c.computing and c.frame.feature_maps is None
    assert c.frame.message == "Computing the layer…"
    assert c.frame.output_shape == (28, 32, 2)  # the shape it will have, said at once
    assert "(28,\u00a032,\u00a02)" in window.filters_title.text()
    assert "Computing the layer…" in window.sum_panel.message.text
    gate.open.set()
    qtbot.waitUntil(
        lambda: not c.computing and c.frame.feature_maps is not None, timeout=PATIENCE_MS
    )
    assert c.frame.message is None
    assert "Computing" not in window.sum_panel.message.text
    monkeypatch.setattr(pipeline, "LayerCache", gate.real)
    assert_views_match_model(window)


def test_a_recompute_longer_than_half_a_second_says_how_long_it_has_taken(
    window, qtbot, monkeypatch
):
    c = window.controller
    gate = Gate(monkeypatch)
    c.background_work = 0
    messages = []
    c.status.connect(messages.append)
    c.change_settings(filters=3)
    qtbot.waitUntil(lambda: c.computing and gate.started.is_set(), timeout=PATIENCE_MS)
    assert messages == ["Computing the layer…"]
    qtbot.waitUntil(lambda: len(messages) >= 3, timeout=PATIENCE_MS)  # two ticks
    seconds = [
        float(m.removeprefix("Computing the layer… (").removesuffix(" s)")) for m in messages[1:]
    ]
    assert seconds[0] >= 0.5 and seconds == sorted(seconds)
    gate.open.set()
    qtbot.waitUntil(lambda: not c.computing, timeout=PATIENCE_MS)
    count = len(messages)
    assert messages[-1] == ""
    qtbot.wait(700)
    assert len(messages) == count  # nothing more once it is done
    monkeypatch.setattr(pipeline, "LayerCache", gate.real)
    assert_views_match_model(window)
