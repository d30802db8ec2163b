"""Autosave copies the document on the GUI thread and writes it on a worker thread."""

import threading

import numpy as np
from PySide6 import QtCore

from convviz.io.session import load_session
from convviz.qt import sessions
from tests.qt.helpers import PATIENCE_MS
from tests.qt.test_recovery import install


def test_a_slow_autosave_leaves_the_gui_running_and_coalesces_the_next(
    make_window, tmp_path, qtbot, monkeypatch
):
    window = make_window()
    m = install(window, tmp_path)
    c = window.controller
    real_save = sessions.save_session
    release = threading.Event()
    calls = []
    threads = []

    def slow_save(path, state, **kwargs):
        threads.append(threading.current_thread())
        calls.append(state["kernel"].copy())
        if len(calls) == 1:
            release.wait(PATIENCE_MS / 1000)
        real_save(path, state, **kwargs)

    monkeypatch.setattr(sessions, "save_session", slow_save)
    c.set_kernel_value(0, 0, 0, 1.5)
    m.autosave_now(wait=False)  # as the autosave timer does
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=PATIENCE_MS)

    # The first write is blocked; the GUI thread still runs timers and takes edits.
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(1)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=PATIENCE_MS)
    timer.stop()
    for value in (2.5, 3.5, 4.5):  # three more autosaves fall due meanwhile
        c.set_kernel_value(0, 0, 0, value)
        m.autosave_now(wait=False)
    expected = c.state()
    assert len(calls) == 1 and m.saver.busy

    release.set()
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    # Not queued one by one: the newest copy only was written after the slow one.
    assert len(calls) == 2
    assert threading.main_thread() not in threads
    assert calls[1][0, 0, 0, 0] == np.float32(4.5)
    written = load_session(m.recovery_path).state
    assert np.array_equal(written["kernel"], expected["kernel"])
    assert np.array_equal(written["input"], expected["input"])


def test_the_snapshot_is_taken_when_the_autosave_is_due(make_window, tmp_path, qtbot, monkeypatch):
    window = make_window()
    m = install(window, tmp_path)
    c = window.controller
    real_save = sessions.save_session
    release = threading.Event()
    started = threading.Event()

    def slow_save(path, state, **kwargs):
        started.set()
        release.wait(PATIENCE_MS / 1000)
        real_save(path, state, **kwargs)

    monkeypatch.setattr(sessions, "save_session", slow_save)
    c.set_kernel_value(0, 0, 0, 1.25)
    m.autosave_now(wait=False)
    assert started.wait(PATIENCE_MS / 1000)
    c.set_kernel_value(0, 0, 0, -7.0)  # edited while the copy is being written
    release.set()
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    assert load_session(m.recovery_path).state["kernel"][0, 0, 0, 0] == np.float32(1.25)


def test_a_failed_background_autosave_names_the_file(make_window, tmp_path, qtbot, monkeypatch):
    window = make_window()
    m = install(window, tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sessions, "save_session", full_disk)
    window.controller.set_kernel_value(0, 0, 0, 2.0)
    m.autosave_now(wait=False)
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    message = window.statusBar().currentMessage()
    assert "Autosave failed" in message and "No space left on device" in message
    assert m.recovery_path.name in message
