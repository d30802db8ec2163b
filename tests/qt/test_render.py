"""The window's own image rendering: same colours as pyqtgraph's, at screen resolution."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtGui, QtWidgets

from convviz.qt.app import configure_pyqtgraph
from convviz.qt.base import map_image
from convviz.qt.base.map_image import colour_indices
from convviz.qt.base.views import MapCell, diverging_colormap, tint_colormap
from tests.qt.helpers import PATIENCE_MS, settle


def pixels(qimage: QtGui.QImage) -> np.ndarray:
    """(rows, cols, 3) uint8 RGB of a QImage, whatever its format."""
    image = qimage.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    h, w, line = image.height(), image.width(), image.bytesPerLine()
    raw = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(h, line)
    return raw[:, : 3 * w].reshape(h, w, 3).copy()


def stock_render(data, levels, cmap=None) -> np.ndarray:
    """What an unmodified pyqtgraph ImageItem makes of the same data."""
    item = pg.ImageItem(axisOrder="row-major")
    if cmap is not None:
        item.setColorMap(cmap)
    item.setImage(data, levels=levels, autoLevels=False)
    item.render()
    return pixels(item.qimage)


@pytest.fixture
def canvas(qtbot):
    configure_pyqtgraph()  # row-major images, as the app sets them

    def make(side):
        widget = pg.GraphicsLayoutWidget()
        qtbot.addWidget(widget)
        widget.resize(side, side)
        cell = MapCell(widget.ci, 0, 0)
        widget.show()
        qtbot.waitExposed(widget)
        return widget, cell

    return make


def _draw(widget, cell, data, levels, cmap):
    cell.set_image(data, levels, cmap)
    QtWidgets.QApplication.processEvents()  # lay out the new range
    widget.viewport().repaint()  # paint now: renders the image
    return pixels(cell.image.qimage)


@pytest.mark.parametrize("cmap", [diverging_colormap(), tint_colormap("G")])
def test_colours_equal_pyqtgraphs_own_rendering(canvas, cmap):
    rng = np.random.default_rng(3)
    # Values on both sides of the levels, on them, and at bin edges of the colour table.
    data = rng.uniform(-3, 3, (40, 37)).astype(np.float32)
    data[0, :5] = [-2.0, 2.0, 0.0, -2.0 + 4 / 256, 1e30]
    widget, cell = canvas(400)
    ours = _draw(widget, cell, data, (-2.0, 2.0), cmap)
    assert ours.shape == (40, 37, 3)
    np.testing.assert_array_equal(ours, stock_render(data, (-2.0, 2.0), cmap))


def test_rgb_composite_equals_pyqtgraphs_own_rendering(canvas):
    data = np.random.default_rng(4).uniform(-0.2, 1.2, (30, 20, 3)).astype(np.float32)
    widget, cell = canvas(300)
    ours = _draw(widget, cell, data, (0.0, 1.0), None)
    np.testing.assert_array_equal(ours, stock_render(data, (0.0, 1.0)))


def test_flat_levels_do_not_divide_by_zero(canvas):
    data = np.full((8, 8), 0.5, np.float32)
    widget, cell = canvas(200)
    ours = _draw(widget, cell, data, (0.5, 0.5), diverging_colormap())
    np.testing.assert_array_equal(ours, stock_render(data, (0.5, 0.5), diverging_colormap()))


def test_large_image_in_small_cell_renders_screen_pixels_then_full_size(canvas, qtbot):
    rng = np.random.default_rng(5)
    data = rng.standard_normal((512, 512)).astype(np.float32)
    cmap = diverging_colormap()
    widget, cell = canvas(160)
    small = _draw(widget, cell, data, (-3.0, 3.0), cmap)
    stride = cell.image.screen_stride()
    assert stride >= 3  # 512 pixels in a cell of under 160
    full = stock_render(data, (-3.0, 3.0), cmap)
    np.testing.assert_array_equal(small, full[::stride, ::stride])
    # Growing the window re-renders at the finer resolution without a new setImage.
    widget.resize(1100, 1100)
    qtbot.waitUntil(lambda: cell.image.screen_stride() == 1, timeout=PATIENCE_MS)
    widget.viewport().repaint()
    np.testing.assert_array_equal(pixels(cell.image.qimage), full)


def test_colour_indices_against_a_loop():
    data = np.array([-5.0, -1.0, -0.99, 0.0, 0.49, 0.5, 0.999, 1.0, 7.0, np.nan], np.float32)
    got = colour_indices(data, (-1.0, 1.0), 4)
    expected = []
    for v in data:
        if np.isnan(v):
            expected.append(0)
            continue
        x = (float(v) + 1.0) * 4 / 2.0
        expected.append(int(min(max(x, 0.0), 3.0)))
    assert got.tolist() == expected


def test_window_cells_show_their_maps_in_colour(window):
    """The strip's feature maps on screen are the model's maps through the colour map."""
    settle(window)
    window.filters_panel.viewport().repaint()
    for cell in window.filters_panel.cells:
        expected = stock_render(cell.data, cell.levels, cell.colormap)
        stride = cell.image.screen_stride()
        np.testing.assert_array_equal(pixels(cell.image.qimage), expected[::stride, ::stride])


def test_changed_box_recolours_only_the_box(canvas, monkeypatch):
    rng = np.random.default_rng(6)
    data = rng.standard_normal((60, 50)).astype(np.float32)
    cmap = diverging_colormap()
    widget, cell = canvas(500)
    _draw(widget, cell, data, (-2.0, 2.0), cmap)
    coloured = []
    real = map_image.colour_indices

    def spy(image, *args):
        coloured.append(image.size)
        return real(image, *args)

    monkeypatch.setattr(map_image, "colour_indices", spy)
    box = (slice(10, 14), slice(20, 27))
    data[box] = rng.uniform(-3, 3, (4, 7))
    cell.set_image(data, (-2.0, 2.0), cmap, box)
    QtWidgets.QApplication.processEvents()
    widget.viewport().repaint()
    assert coloured == [4 * 7]
    np.testing.assert_array_equal(pixels(cell.image.qimage), stock_render(data, (-2.0, 2.0), cmap))
    # New levels invalidate every pixel, box or not.
    coloured.clear()
    cell.set_image(data, (-1.0, 1.0), cmap, box)
    QtWidgets.QApplication.processEvents()
    widget.viewport().repaint()
    assert coloured == [60 * 50]
    np.testing.assert_array_equal(pixels(cell.image.qimage), stock_render(data, (-1.0, 1.0), cmap))


def _assert_every_map_on_screen_is_its_data(window):
    panels = (window.input_panel, window.sum_panel, window.filters_panel)
    for panel in panels:
        panel.viewport().repaint()
    cells = [*window.input_panel.cells, *window.sum_panel.cells, *window.filters_panel.cells]
    cells += [window.sum_panel.pre, window.sum_panel.feature]
    for cell in cells:
        expected = stock_render(cell.data, cell.levels, cell.colormap)
        stride = cell.image.screen_stride()
        np.testing.assert_array_equal(
            pixels(cell.image.qimage), expected[::stride, ::stride], err_msg=cell.name
        )


def test_brush_strokes_redraw_exactly_what_changed(make_window, qtbot):
    image = np.random.default_rng(8).random((64, 64, 3)).astype(np.float32)
    window = make_window(image)
    c = window.controller
    settle(window)
    _assert_every_map_on_screen_is_its_data(window)
    boxes = []
    c.frameReady.connect(lambda frame: boxes.append(frame.output_box))
    c.begin_stroke(1, 30.0, 10.0, 2.0, 0.0)
    for i in range(12):
        c.stroke_to(30.0 + (i % 3), 12.0 + 3 * i)
        settle(window)
        _assert_every_map_on_screen_is_its_data(window)
    c.end_stroke()
    assert sum(b is not None for b in boxes) >= 12  # the boxes were really used
    # The composite shows (and reports on hover) the input's own values.
    (composite,) = [cell for cell in window.input_panel.cells if cell.index < 0]
    np.testing.assert_array_equal(composite.data, c.doc.input)
    c.undo()
    settle(window)
    _assert_every_map_on_screen_is_its_data(window)
