"""The pipeline figure: headless, right size, and its colours are the layer's numbers."""

import numpy as np
import pytest
from PySide6.QtGui import QColor

from convviz.core.levels import nice_ceil
from convviz.core.model import LayerSettings, default_document
from convviz.qt.base.views import diverging_colormap
from convviz.qt.export.figure import pipeline_data, pipeline_layout, render_pipeline
from tests.core.test_export import slow_layer


@pytest.fixture
def state(qapp):
    rng = np.random.default_rng(3)
    doc = default_document(rng.random((10, 12, 3)).astype(np.float32))
    s = doc.snapshot()
    s["kernel"] = rng.normal(size=(3, 3, 3, 3)).astype(np.float32)
    s["bias"] = np.array([0.5, -0.25, 0.0], np.float32)
    s["settings"] = LayerSettings(filters=3)
    s["selected_filter"] = 1
    return s


def rgb_at(image, x, y):
    c = QColor(image.pixel(int(x), int(y)))
    return np.array([c.red(), c.green(), c.blue()])


def test_size_scales_linearly_and_grows_with_filters(state):
    one = render_pipeline(state, scale=1)
    two = render_pipeline(state, scale=2)
    three = render_pipeline(state, scale=3)
    assert (two.width(), two.height()) == (2 * one.width(), 2 * one.height())
    assert (three.width(), three.height()) == (3 * one.width(), 3 * one.height())
    rows3 = render_pipeline(state, filters=3, scale=1)
    # Same columns in every row: only wider numbers in the kernels may widen the figure.
    assert abs(rows3.width() - one.width()) < 0.1 * one.width()
    assert rows3.height() > 2.5 * (one.height() - 120)  # three rows under one title
    assert render_pipeline(state, filters=2, scale=1).height() < rows3.height()


def test_image_size_is_the_layout_size(state):
    layout = pipeline_layout(pipeline_data(state))
    image = render_pipeline(state, scale=1.5)
    assert (image.width(), image.height()) == layout.pixel_size(1.5)
    # Every map and kernel lies inside the picture, nothing is cut at the edge.
    for rect in [*layout.maps.values(), *layout.kernels.values(), *layout.bars.values()]:
        assert rect.left() > 0 and rect.right() < layout.width
        assert rect.top() > 0 and rect.bottom() < layout.height
    for box in layout.texts:
        assert box.rect.right() <= layout.width and box.rect.bottom() <= layout.height


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_feature_map_colours_are_the_colormap_of_the_computed_feature_map(state, theme):
    scale = 2
    image = render_pipeline(state, filters=3, scale=scale, theme=theme)
    layout = pipeline_layout(pipeline_data(state, 3))
    maps, out = slow_layer(state["input"], state["kernel"], state["bias"])
    pre = maps.sum(axis=2) + state["bias"]
    m = nice_ceil(max(np.abs(maps).max(), np.abs(pre).max(), np.abs(out).max()))
    cmap = diverging_colormap()
    rng = np.random.default_rng(0)
    for f in range(3):
        rect = layout.maps[("feature map", f)]
        peak = np.unravel_index(np.argmax(out[..., f]), out.shape[:2])
        picks = [peak, (0, 0)] + [tuple(rng.integers(0, n) for n in out.shape[:2])]
        for r, c in picks:
            x = (rect.x() + (c + 0.5) * layout.pixel) * scale
            y = (rect.y() + (r + 0.5) * layout.pixel) * scale
            want = cmap.map((out[r, c, f] + m) / (2 * m), mode="byte")[:3]
            got = rgb_at(image, x, y)
            assert np.abs(got - want).max() <= 2, (f, r, c, got, want)
        # Kernel map 2 of this filter too: its own channel, before the sum.
        rect = layout.maps[("kernel map", f, 1)]
        x, y = (rect.x() + 0.5 * layout.pixel) * scale, (rect.y() + 0.5 * layout.pixel) * scale
        want = cmap.map((maps[0, 0, 1, f] + m) / (2 * m), mode="byte")[:3]
        assert np.abs(rgb_at(image, x, y) - want).max() <= 2


def test_maps_are_crisp_and_the_picture_is_not_blank(state):
    scale = 3
    image = render_pipeline(state, scale=scale)
    layout = pipeline_layout(pipeline_data(state))
    rect = layout.maps[("input", 0, 0)]
    # Nearest-neighbour: every device pixel inside one data pixel has the same colour.
    px = layout.pixel * scale
    x0, y0 = rect.x() * scale, rect.y() * scale
    block = {
        tuple(rgb_at(image, x0 + 1 + i, y0 + 1 + j))
        for i in range(int(px) - 2)
        for j in range(int(px) - 2)
    }
    assert len(block) == 1
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
    }
    assert len(colours) > 200
    assert image.pixelColor(1, 1) == QColor(255, 255, 255)
    assert render_pipeline(state, theme="dark").pixelColor(1, 1) == QColor(30, 31, 34)


def test_default_shows_the_selected_filter(state):
    data = pipeline_data(state)
    assert [r.filter for r in data.rows] == [1]
    assert set(pipeline_layout(data).maps) >= {("feature map", 0), ("kernel map", 0, 2)}


def test_grouped_layer_rows_read_their_own_channels(qapp):
    doc = default_document(np.random.default_rng(1).random((8, 8, 4)).astype(np.float32))
    s = doc.snapshot()
    s["settings"] = LayerSettings(filters=2, groups=2)
    s["kernel"] = np.ones((3, 3, 2, 2), np.float32)
    data = pipeline_data(s, 2)
    assert [r.channels for r in data.rows] == [(0, 1), (2, 3)]
    np.testing.assert_allclose(
        data.rows[1].kernel_maps[0, 0, 1], s["input"][:3, :3, 3].sum(), rtol=1e-5
    )
    assert render_pipeline(s, filters=2).width() > 0


def test_large_kernels_are_colour_grids_without_numbers(state):
    s = dict(state)
    s["settings"] = LayerSettings(filters=3, kernel_size=(9, 9))
    s["kernel"] = np.zeros((9, 9, 3, 3), np.float32)
    assert not pipeline_layout(pipeline_data(s)).kernel_numbers
    assert pipeline_layout(pipeline_data(state)).kernel_numbers


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filters=4), "has 3"),
        (dict(theme="blue"), "theme"),
        (dict(scale=0), "scale"),
        (dict(scale=200), "pixels"),
    ],
)
def test_bad_requests_are_clear_errors(state, kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_pipeline(state, **kwargs)


def test_empty_output_is_a_clear_error(state):
    s = dict(state)
    s["settings"] = LayerSettings(filters=3, kernel_size=(11, 11))
    s["kernel"] = np.zeros((11, 11, 3, 3), np.float32)
    with pytest.raises(ValueError, match="empty"):
        render_pipeline(s)
