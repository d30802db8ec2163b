"""Every title, message and menu that names a file shows it as a file manager does, and a
scripted screenshot reports an error that happened while it ran."""

import os
import subprocess
import sys
import textwrap

import numpy as np
from PySide6 import QtCore, QtGui

from convviz.io.session import save_session
from convviz.qt.sessions.manager import install_sessions


def _manager(window, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    return install_sessions(window, settings=settings, recovery_dir=tmp_path / "recovery")


def test_a_session_whose_name_is_not_utf8_is_named_readably(window, tmp_path):
    manager = _manager(window, tmp_path)
    path = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"le\xe7on.convviz"))
    save_session(path, window.controller.state())
    assert manager.open_session(path)
    shown = "le\ufffdon.convviz"
    assert shown in window.windowTitle()
    assert window.statusBar().currentMessage() == f"Opened {shown}"
    (entry,) = manager.recent_menu.actions()
    assert entry.text() == shown and "\ufffd" in entry.toolTip()
    for text in (window.windowTitle(), entry.text(), entry.toolTip()):
        text.encode("utf-8")  # no lone surrogates left
    assert manager.recent_files() == [path]  # kept whole in the settings: it opens again


def test_loading_a_bad_file_whose_name_is_not_utf8_names_it_readably(window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(
        "PySide6.QtWidgets.QMessageBox.warning", lambda parent, title, text: shown.append(text)
    )
    path = os.path.join(os.fsencode(tmp_path), b"x\xff.npy")
    with open(path, "wb") as f:
        f.write(b"junk")
    assert not window.load_path(os.fsdecode(path))
    (text,) = shown
    assert text.startswith("x\ufffd.npy: ")


CHILD = textwrap.dedent(
    """
    import sys
    from PySide6 import QtCore, QtWidgets
    from convviz.qt import app
    qt = QtWidgets.QApplication([])
    QtCore.QTimer.singleShot(0, lambda: 1 / 0)  # a slot that raises, once running
    sys.exit(app.main(sys.argv[1:]))
    """
)


def _screenshot(tmp_path, child_code):
    out = tmp_path / "shot.png"
    array = tmp_path / "x.npy"
    np.save(array, np.zeros((6, 6), np.float32))
    run = subprocess.run(
        [sys.executable, "-c", child_code, str(array), "--screenshot", str(out)],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run, out


def test_screenshot_exits_non_zero_after_an_exception_in_a_slot(tmp_path):
    run, out = _screenshot(tmp_path, CHILD)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "ZeroDivisionError" in run.stderr and "1 error(s) while running" in run.stderr
    assert not QtGui.QImage(str(out)).isNull()  # the picture is still written


def test_screenshot_exits_zero_when_nothing_went_wrong(tmp_path):
    run, out = _screenshot(
        tmp_path, CHILD.replace("QtCore.QTimer.singleShot(0, lambda: 1 / 0)", "")
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert not QtGui.QImage(str(out)).isNull()
