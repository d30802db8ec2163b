"""A brush stroke redraws the channel it paints and the maps that read it, nothing else,
and what every panel shows stays what a fresh computation gives."""

import numpy as np
import pyqtgraph as pg

from convviz import conv2d
from tests.qt.helpers import assert_views_match_model, drag, image_to_viewport, scene_image
from tests.qt.test_incremental_views import count_set_image


def pixels(cell):
    """The colours the cell shows now, rendered."""
    cell.image.render()
    return pg.functions.ndarray_from_qimage(cell.image.qimage).copy()


def freshly_rendered(cell):
    """The colours the cell would show if it were drawn from scratch."""
    cell.set_image(cell.data, cell.levels, cell.colormap, None)
    return pixels(cell)


def test_a_stroke_on_one_channel_redraws_that_channel_and_its_kernel_map(make_window):
    window = make_window(scene_image(h=40, w=44, c=3, seed=4))
    assert_views_match_model(window)
    doc = window.controller.doc
    inputs = {cell.index: cell for cell in window.input_panel.cells}  # -1: the composite
    kernel_maps = window.sum_panel.cells[: doc.kernel_channels]
    counts_in = count_set_image(inputs.values())
    counts_k = count_set_image(kernel_maps)
    before = {i: pixels(cell) for i, cell in inputs.items()}
    maps_before = [pixels(cell) for cell in kernel_maps]

    window.brush.radius.setValue(1.5)
    window.brush.value.setValue(1.0)
    view, a = image_to_viewport(inputs[1], 20.5, 5.5)
    _, b = image_to_viewport(inputs[1], 22.5, 30.5)
    drag(view, [a, (a + b) / 2, b])  # paints channel G only
    assert (doc.input[21, 10:25, 1] == 1).all()
    assert_views_match_model(window)

    assert counts_in[id(inputs[0])] == counts_in[id(inputs[2])] == 0
    assert counts_in[id(inputs[1])] > 0 and counts_in[id(inputs[-1])] > 0
    assert [counts_k[id(cell)] > 0 for cell in kernel_maps] == [False, True, False]
    assert window.controller.frame.input_levels == (0.0, 1.0)
    for i, cell in inputs.items():  # what each shows is what it would draw afresh
        now = pixels(cell)
        np.testing.assert_array_equal(now, freshly_rendered(cell))
        assert np.array_equal(now, before[i]) == (i in (0, 2)), i
    for k, cell in enumerate(kernel_maps):
        now = pixels(cell)
        np.testing.assert_array_equal(now, freshly_rendered(cell))
        assert np.array_equal(now, maps_before[k]) == (k != 1), k


def test_a_stroke_beyond_the_input_scale_rescales_and_redraws_every_channel(make_window):
    window = make_window(scene_image(h=40, w=44, c=3, seed=5))
    assert_views_match_model(window)
    ctl = window.controller
    inputs = {cell.index: cell for cell in window.input_panel.cells}
    counts = count_set_image(inputs.values())
    ctl.begin_stroke(0, 10.5, 10.5, 2.0, 3.0)  # brighter than anything in the picture
    ctl.stroke_to(12.5, 20.5)
    ctl.end_stroke()
    assert_views_match_model(window)
    lo, hi = ctl.frame.input_levels
    assert lo <= 0 and hi >= 3
    for i, cell in inputs.items():
        assert counts[id(cell)] > 0, i  # every channel is drawn with the new scale
        assert tuple(cell.levels) == (lo, hi)
        np.testing.assert_array_equal(pixels(cell), freshly_rendered(cell))
    ctl.undo()
    assert_views_match_model(window)
    assert ctl.frame.input_levels == (0.0, 1.0)
    for cell in inputs.values():
        assert tuple(cell.levels) == (0.0, 1.0)


def test_after_a_stroke_the_maps_it_updated_by_difference_are_recomputed_strip_by_strip(
    make_window, qtbot
):
    window = make_window(scene_image(h=60, w=64, c=3, seed=6))
    assert_views_match_model(window)
    ctl = window.controller
    doc = ctl.doc
    window.brush.radius.setValue(2.0)
    window.brush.value.setValue(1.0)
    inputs = {cell.index: cell for cell in window.input_panel.cells}
    view, a = image_to_viewport(inputs[2], 10.5, 5.5)
    _, b = image_to_viewport(inputs[2], 50.5, 58.5)
    drag(view, [a, (a + b) / 2, b])  # paints channel B only: by difference
    assert ctl.pipeline.drift_pending
    # What settling redraws: the sum and feature maps only, never the input or a kernel map.
    kernel_maps = window.sum_panel.cells[: doc.kernel_channels]
    counts = count_set_image([*inputs.values(), *kernel_maps])
    maps = [window.sum_panel.pre, window.sum_panel.feature, *window.filters_panel.cells]
    redrawn = count_set_image(maps)
    qtbot.waitUntil(lambda: not ctl.pipeline.drift_pending, timeout=5000)
    assert all(n == 0 for n in counts.values()), counts
    assert redrawn[id(window.sum_panel.feature)] > 0
    s = doc.settings
    res = conv2d(doc.input, doc.kernel, doc.bias if s.use_bias else None, **s.conv_kwargs())
    # Recomputed from the input: only the summation order's rounding is left.
    np.testing.assert_allclose(ctl.frame.pre_activation, res.pre_activation, rtol=1e-6, atol=1e-6)
    assert_views_match_model(window)
    for cell in maps:
        np.testing.assert_array_equal(pixels(cell), freshly_rendered(cell))


def test_a_stroke_near_the_edge_with_reflect_padding_is_updated_in_place(make_window):
    """Reflect, replicate and circular padding read a pixel near an edge again through
    the padding: those outputs are updated too, without recomputing the layer."""
    for mode in ("reflect", "replicate", "circular"):
        window = make_window(scene_image(h=40, w=44, c=3, seed=8))
        ctl = window.controller
        ctl.change_settings(padding_mode=mode, kernel_size=(5, 5))
        assert_views_match_model(window)
        full = ctl.pipeline.full_recomputes
        ctl.begin_stroke(1, 1.5, 2.0, 1.5, 1.0)  # along the top edge, on one channel
        ctl.stroke_to(1.5, 40.5)
        ctl.end_stroke()
        assert_views_match_model(window)
        assert ctl.pipeline.full_recomputes == full, mode
        window.close()
