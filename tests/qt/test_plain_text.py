"""Names and messages that come from files are shown as text, never rendered as HTML.

Qt renders a string that looks like HTML in a QLabel or QMessageBox and reads the images
it names: a channel name or a session field such as ``<img src="/dev/zero">`` took the
whole machine's memory. The hostile cases run in a child process with a memory cap.
"""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.model import default_document
from convviz.io.session import save_session
from convviz.qt.base.plain_text import plain
from convviz.qt.control.controller import Controller
from convviz.qt.sessions.manager import install_sessions
from tests.qt.helpers import settle


def shows(text: str) -> str:
    """What a widget that guesses the format (QLabel, QMessageBox) shows for ``text``."""
    doc = QtGui.QTextDocument()
    if QtGui.Qt.mightBeRichText(text):
        doc.setHtml(text)
    else:
        doc.setPlainText(text)
    return doc.toPlainText()


@pytest.mark.parametrize(
    "text",
    [
        '<img src="/dev/zero">',
        "a.png: activation '<img src=x>' is not one of relu\nsecond line",
        "<b>bold</b> & <i>x</i>",
        "plain words, 3 < 4 & 5 > 2",
    ],
)
def test_plain_text_is_shown_literally(qtbot, text):
    assert shows(plain(text)) == text
    assert "<img" not in plain(text) or not QtGui.Qt.mightBeRichText(plain(text))


def test_plain_text_still_wraps():
    assert "\xa0" not in plain("a.convviz: activation '<img src=x>' is not one of relu")


def test_plain_leaves_ordinary_text_alone():
    assert plain("Cannot open digit.png: not an image") == "Cannot open digit.png: not an image"


def _session(path, names=("R",), activation=None):
    state = Controller(default_document(np.zeros((5, 5, len(names)), np.float32), names)).state()
    save_session(path, state)
    if activation is not None:  # what only a hand-edited file can hold
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        meta = json.loads(members["session.json"])
        meta["settings"]["activation"] = activation
        members["session.json"] = json.dumps(meta).encode()
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    return path


def test_a_channel_name_that_looks_like_html_is_shown_as_text(make_window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a relative image path would be read from
    Image.new("RGB", (300, 200), (255, 0, 0)).save("red.png")
    name = '<img src="red.png">'
    window = make_window(np.zeros((5, 5, 1), np.float32), [name])
    settle(window)
    assert name in window.input_panel.cells[0].title.item.document().toPlainText()
    assert name in window.sum_panel.cells[0].title.item.document().toPlainText()
    labels = [w for w in window.editor.findChildren(QtWidgets.QLabel) if name in w.text()]
    assert labels and all(shows_in(label) == label.text() for label in labels)


def shows_in(label: QtWidgets.QLabel) -> str:
    """What ``label`` shows, given its text format."""
    fmt = label.textFormat()
    if fmt == QtGui.Qt.TextFormat.PlainText:
        return label.text()
    rich = fmt == QtGui.Qt.TextFormat.RichText or QtGui.Qt.mightBeRichText(label.text())
    return shows(label.text()) if rich else label.text()


def test_an_error_quoting_a_hostile_session_field_is_shown_as_text(window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text)
    )
    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    window.sessions = install_sessions(window, settings=settings, recovery_dir=tmp_path / "r")
    bad = _session(tmp_path / "bad.convviz", activation='<img src="/dev/zero">')
    before = window.controller.doc.input.copy()
    assert not window.load_path(bad)
    (text,) = shown
    assert "bad.convviz" in shows(text) and '<img src="/dev/zero">' in shows(text)
    assert np.array_equal(window.controller.doc.input, before)


CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    from PySide6 import QtCore, QtWidgets
    from convviz.qt.app import build_window, configure_pyqtgraph, parse_args
    app = QtWidgets.QApplication([])
    configure_pyqtgraph()
    window = build_window(parse_args([sys.argv[1], "--size", "1280x720"]))
    window.show()
    window.grab()
    print("opened", flush=True)
    def close_boxes():
        for w in app.topLevelWidgets():
            if isinstance(w, QtWidgets.QMessageBox) and w.isVisible():
                w.grab()
                w.reject()
    timer = QtCore.QTimer()
    timer.timeout.connect(close_boxes)
    timer.start(100)
    window.load_path(sys.argv[2])
    print("refused", flush=True)
    """
)


def test_hostile_names_and_fields_do_not_read_files(tmp_path):
    names = _session(tmp_path / "names.convviz", names=('<img src="/dev/zero">', "G"))
    field = _session(tmp_path / "field.convviz", activation='<img src="/dev/zero">')
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(names), str(field)],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["opened", "refused"]
