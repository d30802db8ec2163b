"""The window on classroom screens, each in a process of its own (one process sees one
screen configuration): every lesson, in the normal view with each dock open and in the
presentation view, checked from the widgets' real geometry (tests/qt/screen_check.py)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from convviz.core.lessons import LESSONS

pytestmark = pytest.mark.slow  # run by CI; `pytest -m "not slow"` skips it

ROOT = Path(__file__).resolve().parents[2]
SCREENS = [(1024, 768), (1280, 720), (1920, 1080)]
DOCKS = ("Arithmetic of one pixel", "Sliding window", "Shapes and parameters")


def _screen_env(tmp_path, width, height):
    config = tmp_path / f"screen{width}x{height}.json"
    screen = {"name": "p", "x": 0, "y": 0, "width": width, "height": height}
    screen.update(logicalDpi=96, logicalBaseDpi=96, dpr=1)
    config.write_text(json.dumps({"screens": [screen]}))
    return dict(
        os.environ,
        QT_QPA_PLATFORM=f"offscreen:configfile={config}",
        CONVVIZ_SETTINGS_FILE=str(tmp_path / "settings.ini"),
        CONVVIZ_RECOVERY_DIR=str(tmp_path / "recovery"),
    )


def _run(args, env):
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_every_lesson_fits_the_classroom_screen(tmp_path, width, height):
    proc = _run(["-m", "tests.qt.screen_check"], _screen_env(tmp_path, width, height))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["screen"] == [0, 0, width, height]
    assert report["problems"] == []
    # Every view was measured: nothing passes because nothing was looked at.
    sizes = report["sizes"]
    for i in range(len(LESSONS)):
        views = [f"lesson {i + 1}", f"lesson {i + 1} presentation"]
        views += [f"lesson {i + 1} + {dock}" for dock in DOCKS]
        for view in views:
            assert sizes.get(view), view
    assert sizes.get("four layers") and sizes.get("colour input, layer 2")
    # A 3-channel lesson shows its three input channels and three kernel maps, plus
    # the pre-activation and feature map, in the presentation view.
    assert len(sizes["lesson 2 presentation"]) == 8


def test_a_window_saved_on_a_large_monitor_opens_whole_on_a_projector(tmp_path):
    script = textwrap.dedent(
        """
        import json, sys
        from PySide6 import QtWidgets
        from convviz.qt.app import build_window, configure_pyqtgraph, parse_args
        configure_pyqtgraph()
        app = QtWidgets.QApplication([])
        window = build_window(parse_args([]))
        if sys.argv[1] == "save":
            window.setGeometry(60, 40, 1800, 1000)
        window.show()
        app.processEvents()
        if sys.argv[1] == "save":
            window.sessions.save_preferences()
        room = window.screen().availableGeometry()
        print(json.dumps([window.frameGeometry().getRect(), room.getRect()]))
        window.sessions.controller.history.set_clean()
        """
    )
    saved = _run(["-c", script, "save"], _screen_env(tmp_path, 1920, 1080))
    assert saved.returncode == 0, saved.stderr
    frame, _ = json.loads(saved.stdout)
    assert frame[2:] == [1804, 1004]  # the large window was saved
    for width, height in ((1280, 720), (1600, 900)):
        env = _screen_env(tmp_path, width, height)
        env["CONVVIZ_SETTINGS_FILE"] = str(tmp_path / "settings.ini")
        opened = _run(["-c", script, "load"], env)
        assert opened.returncode == 0, opened.stderr
        (x, y, w, h), (rx, ry, rw, rh) = json.loads(opened.stdout)
        assert rx <= x and ry <= y and x + w <= rx + rw and y + h <= ry + rh, (width, height)
