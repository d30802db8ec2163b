"""The command line, and what happens when something goes wrong in a running app."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtGui

from convviz.core.presets import make_kernel
from convviz.qt.app import build_window, configure_pyqtgraph, parse_args


def run(args, **kw):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300, **kw
    )


def test_screenshot_renders_the_computed_window(tmp_path):
    out = tmp_path / "shot.png"
    res = run(
        ["-m", "convviz", "--sample", "digit", "--size", "1280x720", "--screenshot", str(out)]
    )
    assert res.returncode == 0, res.stderr
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
    # Not a blank window: the maps put many distinct colours on screen.
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 720, 7)}
    assert len(colours) > 200


def test_bad_path_on_the_command_line_is_a_clear_error(tmp_path):
    bad = tmp_path / "nothing.png"
    bad.write_bytes(b"not an image")
    res = run(["-m", "convviz", str(bad), "--screenshot", str(tmp_path / "x.png")])
    assert res.returncode == 2
    assert "nothing.png" in res.stderr
    assert not (tmp_path / "x.png").exists()


def test_command_line_options_set_up_the_layer(qtbot, tmp_path):
    configure_pyqtgraph()
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((20, 30), 128, np.uint8)).save(path)
    window = build_window(parse_args([str(path), "--filters", "3", "--preset", "Sobel-Y"]))
    qtbot.addWidget(window)
    doc = window.controller.doc
    assert doc.input.shape == (20, 30, 1)
    assert doc.kernel.shape == (3, 3, 1, 3)
    for f in range(3):
        assert np.array_equal(doc.kernel[:, :, 0, f], make_kernel("sobel y", 3, 3))
    assert window.controller.history.undo_label is None  # the start is not an undo step


def test_sample_option_and_unknown_preset(qtbot, capsys):
    configure_pyqtgraph()
    window = build_window(parse_args(["--sample", "checkerboard"]))
    qtbot.addWidget(window)
    assert window.controller.doc.input.shape == (32, 32, 1)
    try:
        parse_args(["--preset", "mystery"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "choose one of" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-3"])
def test_max_side_below_one_is_refused_by_the_argument_parser(capsys, value):
    with pytest.raises(SystemExit) as info:
        parse_args(["--max-side", value])
    assert info.value.code == 2
    assert "--max-side must be at least 1" in capsys.readouterr().err
    assert parse_args(["--max-side", "1"]).max_side == 1


def test_max_side_zero_with_a_path_is_a_clear_error_not_a_traceback(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((20, 30), 128, np.uint8)).save(path)
    res = run(
        ["-m", "convviz", str(path), "--max-side", "0", "--screenshot", str(tmp_path / "x.png")]
    )
    assert res.returncode == 2
    assert "--max-side must be at least 1" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.png").exists()


def test_an_exception_in_a_slot_is_shown_and_the_app_keeps_running(tmp_path):
    script = textwrap.dedent("""
        import sys
        from PySide6 import QtCore, QtWidgets
        import convviz.qt.app as app

        shown = []
        QtWidgets.QMessageBox.critical = lambda parent, title, text: shown.append(text)

        def boom():
            raise RuntimeError("kaboom in a slot")

        def check():
            win = QtWidgets.QApplication.instance().topLevelWidgets()
            doc_ok = any(hasattr(w, "controller") for w in win)
            print("SHOWN", shown, "ALIVE", doc_ok, flush=True)
            QtWidgets.QApplication.instance().exit(0)

        build = app.build_window

        def build_and_schedule(args):
            window = build(args)
            QtCore.QTimer.singleShot(200, boom)
            QtCore.QTimer.singleShot(600, check)
            return window

        app.build_window = build_and_schedule
        sys.exit(app.main(["--sample", "gradient"]))
    """)
    res = run(["-c", script])
    assert res.returncode == 0, res.stderr
    assert "kaboom in a slot" in res.stdout and "ALIVE True" in res.stdout
    assert "RuntimeError: kaboom in a slot" in res.stderr  # logged with its traceback
