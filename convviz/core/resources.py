"""Locate the files shipped in ``resources/``.

In an installed wheel they sit inside the package (``convviz/resources``); in a source
checkout they are the top-level ``resources/`` folder beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]

# The suffix of a session file (lessons are sessions too).
SESSION_SUFFIX = ".convviz"


def resource_dir() -> Path:
    """The folder holding samples, lessons and the screenshot."""
    installed = _PACKAGE / "resources"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "resources"
