"""Nothing lost: autosave to a recovery file, restore after a crash, clean exit deletes it."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from convviz.io.session import load_session
from convviz.qt import sessions
from convviz.qt.sessions import install_sessions
from tests.qt.helpers import settle

ROOT = Path(__file__).resolve().parents[2]


def install(window, tmp_path, restore_answer=None):
    """install_sessions with isolated preferences; ``restore_answer`` answers the offer."""
    settings = QtCore.QSettings(str(tmp_path / "prefs.ini"), QtCore.QSettings.Format.IniFormat)
    asked = []

    def ask_restore(self):
        asked.append(True)
        return restore_answer

    original = sessions.SessionManager.ask_restore
    sessions.SessionManager.ask_restore = ask_restore
    try:
        m = install_sessions(window, settings=settings, recovery_dir=tmp_path)
    finally:
        sessions.SessionManager.ask_restore = original
    m.ask_unsaved = lambda: "discard"
    m.asked_restore = asked
    return m


def test_a_change_is_autosaved_after_a_pause(window, tmp_path, qtbot):
    m = install(window, tmp_path)
    m.autosave_timer.setInterval(50)
    assert not m.recovery_path.exists()
    window.controller.set_kernel_value(1, 1, 0, 4.25)
    qtbot.waitUntil(m.recovery_path.exists, timeout=3000)
    state = load_session(m.recovery_path).state
    np.testing.assert_array_equal(state["kernel"], window.controller.doc.kernel)
    # Undoing back to the saved state leaves nothing to recover.
    window.controller.undo()
    qtbot.waitUntil(lambda: not m.recovery_path.exists(), timeout=3000)


def test_autosave_waits_for_quiet_but_not_forever(window, tmp_path, monkeypatch):
    m = install(window, tmp_path)
    clock = [100.0]
    monkeypatch.setattr(sessions, "monotonic", lambda: clock[0])
    window.controller.set_kernel_value(0, 0, 0, 1.5)
    assert m.autosave_timer.isActive()
    for _ in range(3):  # a continuous change keeps postponing the save...
        clock[0] += 3.0
        m.autosave_timer.stop()
        m._schedule_autosave()
        assert m.autosave_timer.isActive()
    clock[0] += 3.0  # ...until the pending change is older than the maximum delay
    remaining = m.autosave_timer.remainingTime()
    m._schedule_autosave()
    assert m.autosave_timer.remainingTime() <= remaining


def test_normal_close_deletes_the_recovery_file(window, tmp_path):
    m = install(window, tmp_path)
    window.controller.set_kernel_value(0, 0, 0, 2.0)
    m.autosave_now()
    assert m.recovery_path.exists()
    window.close()
    QtCore.QCoreApplication.processEvents()
    assert not m.recovery_path.exists()


def test_restore_after_a_crash(make_window, tmp_path):
    first = make_window()
    m = install(first, tmp_path)
    first.controller.change_settings(filters=3)
    first.controller.set_kernel_value(2, 1, 0, -7.5)
    m.autosave_now()
    expected = first.controller.state()
    # A crash: the window vanishes without its close guards running.
    first.close_guards.clear()
    m._closed = True
    second = make_window()
    m2 = install(second, tmp_path, restore_answer=True)
    assert m2.asked_restore == [True]
    doc = second.controller.doc
    np.testing.assert_array_equal(doc.kernel, expected["kernel"])
    np.testing.assert_array_equal(doc.input, expected["input"])
    assert doc.settings == expected["settings"]
    assert second.isWindowModified() and m2.modified
    settle(second)


def test_declining_restore_deletes_it(make_window, tmp_path):
    first = make_window()
    m = install(first, tmp_path)
    first.controller.set_kernel_value(0, 0, 0, 9.0)
    m.autosave_now()
    first.close_guards.clear()
    m._closed = True
    second = make_window()
    before = second.controller.state()
    m2 = install(second, tmp_path, restore_answer=False)
    assert m2.asked_restore == [True]
    assert not m2.recovery_path.exists()
    np.testing.assert_array_equal(second.controller.doc.kernel, before["kernel"])
    assert not second.isWindowModified()


def test_damaged_recovery_file_warns_and_is_removed(window, tmp_path):
    (tmp_path / sessions.RECOVERY_NAME).write_bytes(b"half a file")
    warnings = []
    original = sessions.SessionManager.warn
    sessions.SessionManager.warn = lambda self, title, text: warnings.append(text)
    try:
        m = install(window, tmp_path, restore_answer=True)
    finally:
        sessions.SessionManager.warn = original
    assert len(warnings) == 1 and "recovery.convviz" in warnings[0]
    assert not m.recovery_path.exists()


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal
    from PySide6 import QtCore, QtWidgets
    from convviz.qt.app import build_window, configure_pyqtgraph, parse_args
    from convviz.qt.sessions import install_sessions

    app = QtWidgets.QApplication([])
    configure_pyqtgraph()
    window = build_window(parse_args(["--sample", "digit"]))
    manager = install_sessions(window)
    manager.autosave_timer.setInterval(100)
    window.show()
    window.controller.set_kernel_value(1, 2, 0, 3.125)
    window.controller.change_settings(filters=4)

    def check():
        if manager.recovery_path.exists():
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind

    timer = QtCore.QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    QtCore.QTimer.singleShot(8000, app.quit)
    app.exec()
    """
)


@pytest.mark.skipif(not hasattr(os, "kill") or sys.platform == "win32", reason="needs SIGKILL")
def test_hard_kill_leaves_a_recovery_file_a_new_window_restores(make_window, tmp_path):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        CONVVIZ_RECOVERY_DIR=str(tmp_path),
        CONVVIZ_SETTINGS_FILE=str(tmp_path / "prefs.ini"),
        PYTHONPATH=str(ROOT),
    )
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], env=env, timeout=60, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    recovery = tmp_path / sessions.RECOVERY_NAME
    assert recovery.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    window = make_window()
    m = install(window, tmp_path, restore_answer=True)
    assert m.asked_restore == [True]
    doc = window.controller.doc
    assert doc.input.shape == (28, 28, 1) and doc.settings.filters == 4
    assert doc.kernel[1, 2, 0, 0] == np.float32(3.125)
    assert window.isWindowModified()
    window.close()
    QtCore.QCoreApplication.processEvents()
    assert not recovery.exists()
