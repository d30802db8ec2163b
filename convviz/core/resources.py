"""Locate the files shipped in ``resources/`` (inside the wheel: ``convviz.resources``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_dir() -> Path:
    """The folder holding samples, presets and lessons."""
    try:
        root = resources.files("convviz.resources")
        path = Path(str(root))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "resources"
