"""Nothing lost: autosave to a recovery file, restore after a crash, clean exit deletes it.

Every running instance has a recovery file and a lock of its own in the recovery folder;
only the files of instances that are gone are offered.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from convviz.io.session import STATE_KEYS, load_session, save_session
from convviz.qt.sessions import background_save, recovery
from convviz.qt.sessions import manager as sessions
from convviz.qt.sessions.manager import install_sessions
from tests.qt.helpers import PATIENCE_MS, settle

ROOT = Path(__file__).resolve().parents[2]


def install(window, tmp_path, restore_answer=None):
    """install_sessions with isolated preferences; ``restore_answer`` answers the offer.

    A list answers successive offers in turn. ``m.asked_restore`` lists the offered files.
    """
    settings = QtCore.QSettings(str(tmp_path / "prefs.ini"), QtCore.QSettings.Format.IniFormat)
    asked = []
    answers = list(restore_answer) if isinstance(restore_answer, list) else None

    def ask_restore(self, path=None):
        asked.append(path)
        return answers.pop(0) if answers is not None else restore_answer

    original = sessions.SessionManager.ask_restore
    sessions.SessionManager.ask_restore = ask_restore
    try:
        m = install_sessions(window, settings=settings, recovery_dir=tmp_path)
    finally:
        sessions.SessionManager.ask_restore = original
    m.ask_unsaved = lambda: "discard"
    m.asked_restore = asked
    return m


def leftovers(folder):
    """Recovery files and locks in ``folder``, by name."""
    return sorted(p.name for p in Path(folder).glob("recovery*"))


def dead_lock(lock_path):
    """Leave the lock file a process makes and never releases because it dies."""
    script = (
        "import os, sys\n"
        "from PySide6 import QtCore\n"
        "lock = QtCore.QLockFile(sys.argv[1])\n"
        "assert lock.tryLock(0)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(lock_path)], check=True, timeout=300)
    assert Path(lock_path).exists()


def crash(manager):
    """The instance dies: no close guard or clean-up runs; its lock stays, its owner gone."""
    manager.window.close_guards.clear()
    manager._closed = True
    manager.autosave_timer.stop()
    manager._lock.unlock()
    dead_lock(lock_of(manager.recovery_path))


def lock_of(recovery_path):
    return Path(recovery_path).with_suffix(".lock")


def full_disk(*args, **kwargs):
    raise OSError("No space left on device")


def assert_same_state(state, expected):
    for key in STATE_KEYS:
        if isinstance(expected[key], np.ndarray):
            np.testing.assert_array_equal(state[key], expected[key])
        else:
            assert state[key] == expected[key], key


def running_instance(make_window, tmp_path, value, restore_answer=None, settings_change=None):
    """A window whose instance edited a kernel value and autosaved it; its manager."""
    window = make_window()
    m = install(window, tmp_path, restore_answer)
    if settings_change:
        window.controller.change_settings(**settings_change)
    window.controller.set_kernel_value(0, 0, 0, value)
    m.autosave_now()
    assert m.recovery_path.exists()
    return m


def crashed_instance(make_window, tmp_path, value, settings_change=None):
    """An instance that autosaved an edit and then crashed; its document's state."""
    m = running_instance(make_window, tmp_path, value, settings_change=settings_change)
    crash(m)
    return m.recovery_path, m.window.controller.state()


def test_a_change_is_autosaved_after_a_pause(window, tmp_path, qtbot):
    m = install(window, tmp_path)
    m.autosave_timer.setInterval(50)
    assert not m.recovery_path.exists()
    window.controller.set_kernel_value(1, 1, 0, 4.25)
    qtbot.waitUntil(m.recovery_path.exists, timeout=PATIENCE_MS)
    state = load_session(m.recovery_path).state
    np.testing.assert_array_equal(state["kernel"], window.controller.doc.kernel)
    # Undoing back to the saved state leaves nothing to recover.
    window.controller.undo()
    qtbot.waitUntil(lambda: not m.recovery_path.exists(), timeout=PATIENCE_MS)


def test_autosave_waits_for_quiet_but_not_forever(window, tmp_path, monkeypatch):
    m = install(window, tmp_path)
    clock = [100.0]
    monkeypatch.setattr(recovery, "monotonic", lambda: clock[0])
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
    assert lock_of(m.recovery_path).exists()
    window.close()
    QtCore.QCoreApplication.processEvents()
    assert not m.recovery_path.exists()
    assert leftovers(tmp_path) == []


def test_restore_after_a_crash(make_window, tmp_path):
    orphan, expected = crashed_instance(make_window, tmp_path, -7.5, {"filters": 3})
    second = make_window()
    m2 = install(second, tmp_path, restore_answer=True)
    assert m2.asked_restore == [orphan]
    assert_same_state(second.controller.state(), expected)
    assert second.isWindowModified() and m2.modified
    # The work is in this instance's own recovery file before the crashed one goes.
    assert not orphan.exists() and not lock_of(orphan).exists()
    assert_same_state(load_session(m2.recovery_path).state, expected)
    assert leftovers(tmp_path) == sorted([m2.recovery_path.name, lock_of(m2.recovery_path).name])
    settle(second)


def test_declining_restore_deletes_it(make_window, tmp_path):
    orphan, _ = crashed_instance(make_window, tmp_path, 9.0)
    second = make_window()
    before = second.controller.state()
    m2 = install(second, tmp_path, restore_answer=False)
    assert m2.asked_restore == [orphan]
    assert not orphan.exists() and not m2.recovery_path.exists()
    assert leftovers(tmp_path) == [lock_of(m2.recovery_path).name]
    assert_same_state(second.controller.state(), before)
    assert not second.isWindowModified()


def test_damaged_recovery_file_warns_and_is_removed(window, tmp_path):
    damaged = tmp_path / "recovery-0123456789ab.convviz"
    damaged.write_bytes(b"half a file")
    warnings = []
    original = sessions.SessionManager.warn
    sessions.SessionManager.warn = lambda self, title, text: warnings.append(text)
    try:
        m = install(window, tmp_path, restore_answer=True)
    finally:
        sessions.SessionManager.warn = original
    assert len(warnings) == 1 and damaged.name in warnings[0]
    assert not damaged.exists() and not m.recovery_path.exists()
    assert not m.restored and not window.isWindowModified()


def test_two_instances_autosave_to_their_own_files(make_window, tmp_path):
    a, b = make_window(), make_window()
    ma, mb = install(a, tmp_path), install(b, tmp_path)
    assert ma.recovery_path != mb.recovery_path
    a.controller.set_kernel_value(0, 0, 0, 1.25)
    b.controller.set_kernel_value(0, 0, 0, -3.5)
    ma.autosave_now()
    mb.autosave_now()
    assert_same_state(load_session(ma.recovery_path).state, a.controller.state())
    assert_same_state(load_session(mb.recovery_path).state, b.controller.state())
    # Nothing unsaved any more in one deletes only its own file.
    b.controller.undo()
    mb.autosave_now()
    assert not mb.recovery_path.exists()
    assert_same_state(load_session(ma.recovery_path).state, a.controller.state())


def test_closing_another_instance_keeps_this_ones_unsaved_work(make_window, tmp_path):
    ma = running_instance(make_window, tmp_path, 1.25)
    expected = ma.window.controller.state()
    # Another instance starts (a teacher would decline an offer of someone else's work),
    # has unsaved work of its own for a while, then closes normally.
    mb = running_instance(make_window, tmp_path, -3.5, restore_answer=False)
    b = mb.window
    b.close()
    QtCore.QCoreApplication.processEvents()
    assert not b.isVisible() and not mb.recovery_path.exists()
    assert_same_state(load_session(ma.recovery_path).state, expected)
    assert lock_of(ma.recovery_path).exists()


def test_a_new_instance_never_offers_a_running_instances_work(make_window, tmp_path):
    m = running_instance(make_window, tmp_path, 5.5)
    saved = m.recovery_path.read_bytes()
    newcomer = make_window()
    before = newcomer.controller.state()
    m2 = install(newcomer, tmp_path, restore_answer=True)
    assert m2.asked_restore == []
    assert_same_state(newcomer.controller.state(), before)
    assert not newcomer.isWindowModified()
    newcomer.close()
    QtCore.QCoreApplication.processEvents()
    assert m.recovery_path.read_bytes() == saved


def test_restored_work_keeps_the_crashed_file_until_it_is_autosaved(
    make_window, tmp_path, monkeypatch
):
    orphan, expected = crashed_instance(make_window, tmp_path, 4.75)
    real_save = background_save.save_session
    monkeypatch.setattr(background_save, "save_session", full_disk)
    second = make_window()
    m2 = install(second, tmp_path, restore_answer=True)
    assert m2.restored and not m2.recovery_path.exists()
    assert "Autosave failed" in second.statusBar().currentMessage()
    assert orphan.exists()
    # The restoring instance holds the crashed file: a third one does not offer it too.
    third = make_window()
    assert install(third, tmp_path, restore_answer=True).asked_restore == []
    monkeypatch.setattr(background_save, "save_session", real_save)
    m2.autosave_now()
    assert not orphan.exists() and not lock_of(orphan).exists()
    assert_same_state(load_session(m2.recovery_path).state, expected)


def test_saving_restored_work_removes_the_crashed_file(make_window, tmp_path, monkeypatch):
    orphan, expected = crashed_instance(make_window, tmp_path, 4.75)
    monkeypatch.setattr(background_save, "save_session", full_disk)
    second = make_window()
    m2 = install(second, tmp_path, restore_answer=True)
    monkeypatch.undo()
    assert orphan.exists()
    assert m2.save_as(tmp_path / "kept.convviz")
    m2.autosave_now()
    assert not orphan.exists() and not m2.recovery_path.exists()
    assert_same_state(load_session(tmp_path / "kept.convviz").state, expected)


def test_several_crashed_instances_are_offered_newest_first(make_window, tmp_path):
    managers = [install(make_window(), tmp_path) for _ in range(3)]
    crashed = []
    for age, m in zip((300, 200, 100), managers, strict=True):
        m.window.controller.set_kernel_value(0, 0, 0, age / 100)
        m.autosave_now()
        stamp = m.recovery_path.stat().st_mtime - age
        os.utime(m.recovery_path, (stamp, stamp))
        crashed.append((m.recovery_path, m.window.controller.state()))
    for m in managers:
        crash(m)
    (old, old_state), (middle, middle_state), (new, _) = crashed
    window = make_window()
    m = install(window, tmp_path, restore_answer=[False, True])
    assert m.asked_restore == [new, middle]
    assert not new.exists() and not middle.exists()
    assert_same_state(window.controller.state(), middle_state)
    assert "1 more will be offered" in window.statusBar().currentMessage()
    # The rest stays for the next start.
    assert old.exists()
    window.close()
    QtCore.QCoreApplication.processEvents()
    later = make_window()
    m2 = install(later, tmp_path, restore_answer=True)
    assert m2.asked_restore == [old]
    assert_same_state(later.controller.state(), old_state)
    assert not old.exists()


def test_recovery_file_of_an_earlier_version_is_offered(make_window, tmp_path):
    donor = make_window()
    donor.controller.set_kernel_value(2, 2, 0, 6.5)
    expected = donor.controller.state()
    legacy = tmp_path / "recovery.convviz"
    save_session(legacy, expected, view={"path": None})
    window = make_window()
    m = install(window, tmp_path, restore_answer=True)
    assert m.asked_restore == [legacy]
    assert_same_state(window.controller.state(), expected)
    assert not legacy.exists() and m.recovery_path.exists()


def test_locks_left_without_a_recovery_file_are_cleaned_up(window, tmp_path):
    stale = tmp_path / "recovery-feedfacecafe.lock"
    dead_lock(stale)
    m = install(window, tmp_path, restore_answer=True)
    assert m.asked_restore == []
    assert leftovers(tmp_path) == [lock_of(m.recovery_path).name]


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal
    from PySide6 import QtCore, QtWidgets
    from convviz.qt.app import build_window, configure_pyqtgraph, parse_args
    from convviz.qt.sessions.manager import install_sessions

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
    proc = subprocess.run([sys.executable, str(script)], env=env, timeout=300, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    [recovery] = tmp_path.glob("recovery-*.convviz")
    assert lock_of(recovery).exists()  # the killed process could not release its lock
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    window = make_window()
    m = install(window, tmp_path, restore_answer=True)
    assert m.asked_restore == [recovery]
    doc = window.controller.doc
    assert doc.input.shape == (28, 28, 1) and doc.settings.filters == 4
    assert doc.kernel[1, 2, 0, 0] == np.float32(3.125)
    assert window.isWindowModified()
    window.close()
    QtCore.QCoreApplication.processEvents()
    assert not recovery.exists()
    assert leftovers(tmp_path) == []
