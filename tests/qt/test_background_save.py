"""Autosave copies the document on the GUI thread and writes it on a worker thread."""

import threading

import numpy as np
import pytest
from PySide6 import QtCore

from convviz.io.session import load_session
from convviz.qt.sessions import background_save as sessions
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


class _SlowSave:
    """Stands in for save_session: records each call, holds the first until released."""

    def __init__(self, real):
        self.real = real
        self.release = threading.Event()
        self.started = threading.Event()
        self.calls = []  # (path, kernel value [0, 0, 0, 0], thread)

    def __call__(self, path, state, **kwargs):
        self.calls.append((path, float(state["kernel"][0, 0, 0, 0]), threading.current_thread()))
        self.started.set()
        if len(self.calls) == 1:
            self.release.wait(PATIENCE_MS / 1000)
        self.real(path, state, **kwargs)


@pytest.fixture
def held(make_window, tmp_path, monkeypatch):
    """A window with sessions whose first write is held until ``slow.release`` is set:
    (window, session manager, controller, slow)."""
    window = make_window()
    m = install(window, tmp_path)
    slow = _SlowSave(sessions.save_session)
    monkeypatch.setattr(sessions, "save_session", slow)
    return window, m, window.controller, slow


def _explicit_calls(slow, path):
    return [call for call in slow.calls if call[0] == path]


def test_save_from_the_menu_writes_on_a_worker_and_the_window_goes_on(held, tmp_path, qtbot):
    window, m, c, slow = held
    target = tmp_path / "lesson.convviz"
    m.ask_save_path = lambda *args: str(target)
    c.set_kernel_value(0, 0, 0, 1.5)
    m.save_action.trigger()  # Ctrl+S: returns while the write is held
    assert slow.started.wait(PATIENCE_MS / 1000)
    assert not target.exists() and m.modified and m.path is None
    assert "Saving lesson.convviz" in window.statusBar().currentMessage()

    # The GUI thread runs timers and takes edits while the file is written.
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(1)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=PATIENCE_MS)
    timer.stop()
    assert not target.exists()

    slow.release.set()
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    assert threading.main_thread() not in [call[2] for call in slow.calls]
    assert load_session(target).state["kernel"][0, 0, 0, 0] == np.float32(1.5)
    assert m.path == target and not m.modified
    assert not window.isWindowModified()
    assert "Saved lesson.convviz" in window.statusBar().currentMessage()
    assert str(target.absolute()) in m.recent_files()


def test_an_edit_while_saving_stays_unsaved_and_out_of_the_file(held, tmp_path, qtbot):
    window, m, c, slow = held
    target = tmp_path / "a.convviz"
    c.set_kernel_value(0, 0, 0, 1.25)
    assert m.save_as(target, wait=False)
    assert slow.started.wait(PATIENCE_MS / 1000)
    c.set_kernel_value(0, 0, 0, -7.0)  # edited while the copy is written
    slow.release.set()
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    assert load_session(target).state["kernel"][0, 0, 0, 0] == np.float32(1.25)
    assert m.path == target
    assert m.modified and window.isWindowModified()  # -7 is in no file yet


def test_saving_again_while_a_save_runs_writes_the_newest_once(held, tmp_path, qtbot):
    window, m, c, slow = held
    target = tmp_path / "b.convviz"
    asked = []
    m.ask_save_path = lambda *args: asked.append(args)  # Save goes to b, not asking again
    c.set_kernel_value(0, 0, 0, 1.0)
    m.save_as(target, wait=False)
    assert slow.started.wait(PATIENCE_MS / 1000)
    for value in (2.0, 3.0, 4.0):  # Ctrl+S pressed three more times meanwhile
        c.set_kernel_value(0, 0, 0, value)
        m.save_action.trigger()
        m.autosave_now(wait=False)  # and autosaves fall due: they do not push it out
    slow.release.set()
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    assert not asked
    assert [call[1] for call in _explicit_calls(slow, target)] == [1.0, 4.0]
    assert [call[1] for call in _explicit_calls(slow, m.recovery_path)] == [4.0]
    assert load_session(target).state["kernel"][0, 0, 0, 0] == np.float32(4.0)
    assert not m.modified


def test_a_failed_background_save_says_so_in_a_dialog_and_keeps_the_work(
    make_window, tmp_path, qtbot, monkeypatch
):
    window = make_window()
    m = install(window, tmp_path)
    c = window.controller
    first = tmp_path / "first.convviz"
    assert m.save_as(first)
    c.set_kernel_value(0, 0, 0, 2.0)
    warned = []
    m.warn = lambda title, text: warned.append((title, text))

    def full_disk(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(sessions, "save_session", full_disk)
    target = tmp_path / "second.convviz"
    m.save_as(target, wait=False)
    qtbot.waitUntil(lambda: bool(warned), timeout=PATIENCE_MS)
    ((title, text),) = warned
    assert title == "Cannot save the session"
    assert "second.convviz" in text and "No space left on device" in text
    assert m.path == first and m.modified  # still the old file, the edit not saved
    assert c.state()["kernel"][0, 0, 0, 0] == np.float32(2.0)
    assert not target.exists()


def test_closing_waits_for_a_save_that_is_being_written(held, tmp_path):
    window, m, c, slow = held
    asked = []
    m.ask_unsaved = lambda: asked.append(1) or "cancel"
    target = tmp_path / "c.convviz"
    c.set_kernel_value(0, 0, 0, 3.0)
    m.save_as(target, wait=False)
    assert slow.started.wait(PATIENCE_MS / 1000)
    threading.Timer(0.2, slow.release.set).start()  # the disk finishes while closing
    assert window.close()
    assert not asked  # the save finished first: nothing was unsaved
    assert load_session(target).state["kernel"][0, 0, 0, 0] == np.float32(3.0)


def test_save_as_lesson_from_the_menu_shows_the_text_once_written(held, tmp_path, qtbot):
    _, m, _, slow = held
    target = tmp_path / "lesson.convviz"
    assert m.save_as_lesson(target, text="Look at the *sum*.", wait=False)
    assert slow.started.wait(PATIENCE_MS / 1000)
    assert m.lesson_text is None
    slow.release.set()
    qtbot.waitUntil(lambda: not m.saver.busy, timeout=PATIENCE_MS)
    assert m.lesson_text == "Look at the *sum*."
    assert load_session(target).lesson == "Look at the *sum*."
