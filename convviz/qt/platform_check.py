"""Say which system library is missing before Qt aborts for the want of it.

Qt's X11 platform ("xcb") needs ``libxcb-cursor0``, which a fresh Debian or Ubuntu does
not always have; without it Qt prints a hint among other lines and aborts the process.
"""

from __future__ import annotations

import ctypes
import os
import sys

XCB_CURSOR = "libxcb-cursor.so.0"


def _loads(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def only_xcb(environ=None, platform: str | None = None) -> bool:
    """Whether X11 is the only way Qt can open a window here (with a Wayland display, Qt
    falls back to Wayland when X11 fails). Default: this process's environment."""
    environ = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen == "xcb" or chosen.startswith("xcb:")
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def missing_window_library(environ=None, platform: str | None = None) -> str | None:
    """What to install when Qt cannot open a window for want of a system library; None
    when nothing is missing (or Qt will not use X11)."""
    if not only_xcb(environ, platform) or _loads(XCB_CURSOR):
        return None
    return (
        f"Qt needs the system library {XCB_CURSOR} to open a window on X11, and it is not "
        "installed. On Debian or Ubuntu: sudo apt-get install libxcb-cursor0 (.ci/setup.sh in "
        "convviz's folder installs it too). convviz render and --screenshot work without it "
        "with QT_QPA_PLATFORM=offscreen."
    )
