"""A missing system library for Qt's X11 platform is named before Qt would abort."""

import ctypes

import pytest

from convviz.qt import app, platform_check


@pytest.fixture
def no_xcb_cursor(monkeypatch):
    real = ctypes.CDLL

    def cdll(name, *args, **kwargs):
        if name == platform_check.XCB_CURSOR:
            raise OSError(f"{name}: cannot open shared object file")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(platform_check.ctypes, "CDLL", cdll)


@pytest.mark.parametrize(
    "environ, platform, expected",
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),  # falls back
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, "linux", False),
        ({}, "linux", False),  # no display: Qt says so itself
        ({"DISPLAY": ":0"}, "darwin", False),
    ],
)
def test_only_xcb(environ, platform, expected):
    assert platform_check.only_xcb(environ, platform) is expected


def test_missing_library_is_named_with_the_command_that_installs_it(no_xcb_cursor):
    message = platform_check.missing_window_library({"DISPLAY": ":0"}, "linux")
    assert "libxcb-cursor0" in message and "sudo apt-get install libxcb-cursor0" in message
    assert platform_check.missing_window_library({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_the_app_says_so_and_exits_instead_of_aborting(no_xcb_cursor, monkeypatch, capsys):
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    built = []
    monkeypatch.setattr(app, "build_window", built.append)

    def start_qt():  # Qt on X11 without the library would abort the test process
        raise AssertionError("convviz went on to start Qt")

    monkeypatch.setattr(app, "configure_pyqtgraph", start_qt)
    assert app.main(["--sample", "digit"]) == 2
    assert "sudo apt-get install libxcb-cursor0" in capsys.readouterr().err
    assert built == []
