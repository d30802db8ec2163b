"""What convviz's map image (convviz.qt.base.views) takes from pyqtgraph beyond its public API.

The image item renders only the changed box, at the screen's stride, by overriding
``ImageItem.render`` and setting ImageItem's private ``_renderRequired``,
``_unrenderable`` and ``qimage``. A pyqtgraph release that renames them would leave the
maps blank or stale without an error; this test says so first, and pyproject.toml pins
pyqtgraph below its next minor release.
"""

import inspect
import re
from pathlib import Path

import numpy as np
import pyqtgraph as pg

ROOT = Path(__file__).resolve().parents[2]


def test_image_item_still_paints_from_the_private_state_convviz_sets():
    item = pg.ImageItem(np.zeros((4, 4), np.float32))
    for name in ("_renderRequired", "_unrenderable", "qimage"):
        assert hasattr(item, name), f"pyqtgraph.ImageItem no longer has {name}"
    paint = inspect.getsource(pg.ImageItem.paint)
    assert "_renderRequired" in paint and "self.render()" in paint
    assert "self.qimage" in paint
    assert callable(pg.functions.ndarray_to_qimage)
    assert callable(getattr(pg.ImageItem, "viewTransformChanged", None))


def test_convviz_sets_only_the_private_names_checked_here():
    source = (ROOT / "convviz" / "qt" / "base" / "views.py").read_text(encoding="utf-8")
    private = set(
        re.findall(r"self\.(_renderRequired|_unrenderable|_[a-z][A-Za-z]*Required)", source)
    )
    assert private <= {"_renderRequired", "_unrenderable"}


def test_pyqtgraph_is_pinned_below_its_next_minor_release():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"pyqtgraph>=[0-9.]+,<0\.15"', text)
    major, minor = (int(v) for v in pg.__version__.split(".")[:2])
    assert (major, minor) < (0, 15)
