"""Large recomputes run off the GUI thread: the window stays live and the newest edit wins."""

import threading
import time

import numpy as np
from PySide6 import QtCore

import convviz.core.pipeline as pipeline
from tests.qt.helpers import assert_views_match_model


def test_a_slow_recompute_runs_in_the_background_and_stale_results_are_dropped(
    window, qtbot, monkeypatch
):
    c = window.controller
    real = pipeline.LayerCache
    threads = []

    def slow_cache(*args, **kwargs):
        threads.append(threading.current_thread().name)
        time.sleep(0.4)  # stands for a 1024×1024 layer
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "LayerCache", slow_cache)
    c.background_work = 0  # every whole-layer recompute goes to the worker
    shown = []
    c.frameReady.connect(lambda frame: shown.append(frame.filters))
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)

    c.change_settings(filters=3)
    qtbot.waitUntil(lambda: c.computing, timeout=2000)
    qtbot.wait(150)
    c.change_settings(filters=4)  # while the first one is still computing
    qtbot.waitUntil(lambda: not c.computing and c.frame.filters == 4, timeout=5000)
    timer.stop()

    assert len(ticks) >= 20  # the event loop kept running throughout
    assert all(name.startswith("convviz-layer") for name in threads)
    assert 3 not in shown  # the stale result for 3 filters was never shown
    assert c.doc.settings.filters == 4
    monkeypatch.setattr(pipeline, "LayerCache", real)
    assert_views_match_model(window)


def test_painting_while_the_layer_computes_is_not_lost(window, qtbot, monkeypatch):
    c = window.controller
    real = pipeline.LayerCache

    def slow_cache(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "LayerCache", slow_cache)
    c.background_work = 0
    c.change_settings(kernel_size=(5, 5))
    qtbot.waitUntil(lambda: c.computing, timeout=2000)
    c.begin_stroke(0, 1.5, 1.5, 1.0, 0.0)  # paint during the background recompute
    c.stroke_to(8.5, 8.5)
    c.end_stroke()
    qtbot.waitUntil(lambda: not c.computing and not c.pipeline.pending, timeout=5000)
    qtbot.wait(50)
    monkeypatch.setattr(pipeline, "LayerCache", real)
    assert np.all(c.doc.input[np.arange(2, 8), np.arange(2, 8), 0] == 0)
    assert_views_match_model(window)
