"""The window on the screen it opens on, and the status bar at every width.

This process's offscreen screen is 800×800, smaller than the preferred 1600×900: a first
start fills it. Other screens are checked in their own processes (test_screens.py).
"""

import pytest
from PySide6 import QtCore, QtGui

from convviz.core.model import default_document
from convviz.qt.app import build_window, parse_args
from convviz.qt.control.controller import Controller
from convviz.qt.main_window import MainWindow
from convviz.qt.sessions.manager import install_sessions
from tests.qt.helpers import PATIENCE_MS, scene_image, settle


def _settings(path):
    return QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)


def test_a_first_start_takes_the_screens_available_geometry(qtbot, tmp_path):
    window = MainWindow(Controller(default_document(scene_image())))
    qtbot.addWidget(window)
    install_sessions(window, settings=_settings(tmp_path / "p.ini"), recovery_dir=tmp_path)
    window.show()
    qtbot.waitExposed(window)
    room = window.screen().availableGeometry()
    assert room.width() < 1600  # the case at hand
    assert window.isMaximized()
    qtbot.waitUntil(lambda: window.frameGeometry() == room, timeout=PATIENCE_MS)


def test_the_size_option_wins_over_the_size_the_window_had_last(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVVIZ_SETTINGS_FILE", str(tmp_path / "p.ini"))
    monkeypatch.setenv("CONVVIZ_RECOVERY_DIR", str(tmp_path / "rec"))
    first = build_window(parse_args([]))
    qtbot.addWidget(first)
    first.setWindowState(QtCore.Qt.WindowState.WindowNoState)
    first.setGeometry(20, 30, 760, 600)
    first.show()
    qtbot.waitExposed(first)
    first.sessions.save_preferences()
    again = build_window(parse_args([]))
    qtbot.addWidget(again)
    assert again.size() == QtCore.QSize(760, 600)  # restored
    sized = build_window(parse_args(["--size", "790x620"]))
    qtbot.addWidget(sized)
    assert sized.size() == QtCore.QSize(790, 620) and not sized.isMaximized()


@pytest.mark.parametrize("width", [1024, 1920])
def test_a_status_message_shows_beside_the_hovered_value(window, qtbot, width):
    window.resize(width, 700)
    settle(window)
    cell = window.sum_panel.cells[0]
    cell.hovered.emit(cell, 3, 4)  # a long read-out: "kernel map 1 (kernel 1 of ...): v"
    hover = window.hover_label.text()
    assert hover.startswith("kernel map 1")
    message = "Downscaled from 640×480 to 256×192 so the view stays live (--max-side)"
    window.show_message(message)
    bar = window.statusBar()
    qtbot.waitUntil(
        lambda: window.hover_label.isVisible() and window.hover_label.x() > 0, timeout=PATIENCE_MS
    )
    settle(window)
    # The bar draws the message from its left edge up to its first permanent widget.
    room = window.hover_label.x() - 8
    assert QtGui.QFontMetrics(bar.font()).horizontalAdvance(message) <= room
    assert window.hover_label.width() >= 0.25 * width or window.hover_label.width() >= (
        window.hover_label.fontMetrics().horizontalAdvance(hover)
    )
    assert bar.currentMessage() == message
