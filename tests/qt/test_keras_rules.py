"""The app shows only layers keras.layers.Conv2D builds: what Keras refuses is refused
everywhere, with Keras' reason (settings panel, controller, session files, command line)."""

import json
import os
import subprocess
import sys
import zipfile

import pytest
from PySide6 import QtCore

from convviz.io.session import save_session
from convviz.qt import render_cli
from tests.qt.helpers import settle

RULE = "strides > 1 is not supported together with dilation_rate > 1"


def refused_session(tmp_path, state):
    """A session file that is valid except for strides (2, 1) with dilation (1, 2)."""
    good = save_session(tmp_path / "good.convviz", state)
    bad = tmp_path / "stride-and-dilation.convviz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "session.json":
                meta = json.loads(data)
                meta["settings"].update(strides=[2, 1], dilation=[1, 2])
                data = json.dumps(meta).encode()
            dst.writestr(info, data)
    return bad


def test_settings_panel_will_not_combine_strides_and_dilation(window, qtbot):
    c, panel = window.controller, window.layer_panel
    c.change_settings(dilation=(2, 2))
    settle(window)
    before = c.doc.settings
    panel.sh.setFocus()
    qtbot.keyClick(panel.sh, QtCore.Qt.Key.Key_Up)  # strides 1 -> 2 while dilation is 2
    settle(window)
    assert c.doc.settings == before
    assert (panel.sh.value(), panel.sw.value()) == (1, 1)  # the box springs back
    assert panel.layout().isRowVisible(panel.refusal)
    assert panel.refusal.text().replace("\u00a0", " ") == (
        "Keras refuses strides > 1 together with dilation_rate > 1: "
        "set dilation_rate back to 1 first."
    )
    assert panel.refusal.isVisible()
    # The other way round too: dilation while strides are above 1.
    panel.dw.setValue(1)
    panel.dh.setValue(1)
    settle(window)
    assert c.doc.settings.dilation == (1, 1)
    assert not panel.layout().isRowVisible(panel.refusal)  # an accepted change clears it
    panel.sw.setValue(3)
    settle(window)
    assert c.doc.settings.strides == (1, 3)
    panel.dh.setValue(2)
    settle(window)
    assert c.doc.settings.dilation == (1, 1) and panel.dh.value() == 1
    assert panel.refusal.text().endswith("set strides back to 1 first.")


def test_controller_refuses_the_combination_and_says_why(window):
    c = window.controller
    messages = []
    c.status.connect(messages.append)
    c.change_settings(strides=(2, 2))
    before = c.doc.settings
    c.change_settings(dilation=(3, 1))
    settle(window)
    assert c.doc.settings == before
    assert len(messages) == 1 and RULE in messages[0] and "settings unchanged" in messages[0]
    assert c.history.undo_label == "Change strides"


def test_a_session_with_the_combination_is_refused_and_the_work_kept(window, tmp_path):
    from convviz.qt.sessions.manager import install_sessions

    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    manager = install_sessions(window, settings=settings, recovery_dir=tmp_path / "rec")
    warnings = []
    manager.warn = lambda title, text: warnings.append(text)
    bad = refused_session(tmp_path, window.controller.state())
    window.controller.set_kernel_value(0, 0, 0, 0.25)
    settle(window)
    before = window.controller.state()
    manager.answer = "discard"
    manager.ask_unsaved = lambda: "discard"
    assert not manager.open_session(bad)
    assert len(warnings) == 1 and bad.name in warnings[0] and RULE in warnings[0]
    after = window.controller.state()
    assert after["settings"] == before["settings"]
    assert (after["kernel"] == before["kernel"]).all()


def test_command_line_and_render_refuse_such_a_session(window, tmp_path, capsys):
    bad = refused_session(tmp_path, window.controller.state())
    assert render_cli.main([str(bad), "-o", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err
    assert bad.name in err and RULE in err
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(
        [sys.executable, "-m", "convviz", str(bad), "--screenshot", str(tmp_path / "s.png")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 2
    assert bad.name in res.stderr and RULE in res.stderr
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("change", [{"strides": (2, 2)}, {"dilation": (2, 2)}])
def test_code_dialog_keeps_to_layers_keras_builds(window, change):
    """Whatever the panel accepts, the Keras code builds (checked against Keras itself in
    tests/core/test_explain_code.py); the refused combination never reaches it."""
    c = window.controller
    c.change_settings(**change)
    other = {"dilation": (2, 2)} if "strides" in change else {"strides": (2, 2)}
    c.change_settings(**other)
    settle(window)
    s = c.doc.settings
    assert max(s.strides) == 1 or max(s.dilation) == 1
    from convviz.qt.export.code import WeightsExport

    code = WeightsExport(window).snippets()["Keras"]
    assert "layer = keras.layers.Conv2D(" in code
    assert ("strides=(2, 2)" in code) != ("dilation_rate=(2, 2)" in code)
