"""Render soak: many refreshes of the real window with colour-mapped images.

PySide6 6.12.0 corrupted reference counts in QImage.setColorTable, which pyqtgraph calls
for every colour-mapped image it renders; about 300 refreshes of a dozen such images
aborted the process. The window's map cells now colour their images themselves, but
colour bars and any stock ImageItem still take pyqtgraph's path, so both are soaked: a
release that brings the crash back must fail here, not in a classroom.
"""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtWidgets

from convviz.qt.base.views import diverging_colormap
from tests.qt.helpers import assert_views_match_model

pytestmark = pytest.mark.slow  # run by CI; `pytest -m "not slow"` skips it

REFRESHES = 2000


def test_two_thousand_rendered_refreshes(window):
    # Value labels on small maps are not colour-mapped images; they would only slow this.
    window.inspector.numbers_action.setChecked(False)
    c = window.controller
    views = [window.input_panel, window.sum_panel, window.filters_panel]
    rendered = 0
    for i in range(REFRESHES):
        c.set_kernel_value(i % 3, (i // 3) % 3, i % 3, float(np.sin(i)), nudge=True)
        if i % 50 == 0:
            c.begin_stroke(i % 3, 2.0 + i % 8, 3.0, 1.0, float(i % 2))
            c.stroke_to(9.0, 10.0)
            c.end_stroke()
        c.refresh_now()
        for view in views:
            view.viewport().repaint()  # paint now: renders every image, colour table included
        rendered += 1
        if i % 200 == 0:
            QtWidgets.QApplication.processEvents()
    assert rendered == REFRESHES
    for cell in window.sum_panel.cells:
        assert cell.image.qimage is not None
    assert_views_match_model(window)


def test_two_thousand_refreshes_of_stock_colour_mapped_images(qtbot):
    """12 stock pyqtgraph images, each rendered 2,000 times through setColorTable."""
    rng = np.random.default_rng(0)
    items = []
    for _ in range(12):
        item = pg.ImageItem(axisOrder="row-major")
        item.setColorMap(diverging_colormap())
        items.append(item)
    tables = 0
    for _ in range(REFRESHES):
        data = rng.standard_normal((16, 16)).astype(np.float32)
        for item in items:
            item.setImage(data, levels=(-2.0, 2.0), autoLevels=False)
            item.render()
            assert item.qimage.format() == item.qimage.Format.Format_Indexed8
            tables += len(item.qimage.colorTable()) == 256
    assert tables == 12 * REFRESHES
