"""Overflow is said, drawn in its own colour and kept off the colour scale; the sliding
window draws pixels it has not computed in a neutral colour of their own."""

import numpy as np
import pytest
from PySide6 import QtGui

from convviz.core.levels import SymmetricLevels
from convviz.qt.base.map_image import OVERFLOW, PENDING
from convviz.qt.export.figure import pipeline_data, pipeline_layout, render_pipeline
from tests.qt.helpers import drawn_colour, settle

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow warnings


def _overflowing(make_window):
    """Filter 1 reads channel 0 times 1e37: inf where the input is 100 or more."""
    image = np.full((6, 6, 1), 0.5, np.float32)
    image[1, 1] = image[4, 3] = 100.0
    window = make_window(image)
    c = window.controller
    state = c.state()
    kernel = np.zeros_like(state["kernel"])
    kernel[1, 1, 0, 0] = 1e6
    kernel[1, 1, 0, 1] = 1.0
    state["kernel"] = kernel
    state["settings"] = state["settings"].__class__(
        **{**vars(state["settings"]), "padding": "same", "activation": "linear"}
    )
    c.open_state(state)
    c.doc.input[...] *= 1e31  # 0.5e31 × 1e6 is finite; 100e31 × 1e6 is not
    c.doc.notify({"input"})
    settle(window)
    return window


def test_the_sum_panel_names_the_maps_that_overflow(make_window):
    window = _overflowing(make_window)
    feature = window.controller.frame.feature_maps
    assert np.isinf(feature[1, 1, 0]) and np.isfinite(feature[..., 1]).all()
    note = window.sum_panel.message.text
    assert "Values exceed float32 in kernel map 1, pre-activation 1 and feature map 1" in note
    assert "drawn black" in note
    window.controller.select_filter(1)
    settle(window)
    note = window.sum_panel.message.text
    assert "in feature map 1" in note and "kernel map" not in note


def test_overflowing_pixels_are_drawn_in_their_own_colour(make_window):
    window = _overflowing(make_window)
    overflow, cell = QtGui.QColor(*OVERFLOW), window.sum_panel.feature
    assert drawn_colour(cell, 1, 1) == overflow  # not the colour of the largest value
    assert drawn_colour(cell, 0, 0) not in (overflow, QtGui.QColor(*PENDING))  # finite
    assert drawn_colour(window.filters_panel.cells[0], 4, 3) == overflow


def test_the_colour_scale_spans_the_finite_values(make_window):
    window = _overflowing(make_window)
    frame = window.controller.frame
    finite = frame.feature_maps[np.isfinite(frame.feature_maps)]
    expected = SymmetricLevels().update(float(np.abs(finite).max()))
    assert frame.map_levels == expected and expected[1] >= 5e36  # not the ±1 of no data
    assert window.sum_panel.feature.bar_levels == pytest.approx(expected)


def test_no_note_when_the_values_fit(window):
    settle(window)
    assert "float32" not in window.sum_panel.message.text


def test_the_sliding_window_draws_pixels_not_computed_in_a_neutral_colour(make_window, qtbot):
    window = _overflowing(make_window)
    insp = window.inspector
    insp.anim_dock.show()
    insp.anim.step_by(8)  # pixels 0..8 computed: row 0 and row 1 up to column 2
    settle(window)
    cell = window.sum_panel.feature
    pending = QtGui.QColor(*PENDING)
    assert drawn_colour(cell, 1, 2) not in (pending, QtGui.QColor(*OVERFLOW))
    assert drawn_colour(cell, 1, 1) == QtGui.QColor(*OVERFLOW)  # computed, overflowed
    assert drawn_colour(cell, 1, 3) == pending  # the next one
    assert drawn_colour(cell, 5, 5) == pending
    assert drawn_colour(window.filters_panel.cells[1], 3, 0) == pending
    assert pending != QtGui.QColor(*OVERFLOW)
    numbers = cell._inspect_numbers
    assert numbers.pending == 9  # no number written on a pixel not computed yet


def test_closing_the_sliding_window_dock_while_half_filled_shows_the_full_maps(make_window, qtbot):
    window = _overflowing(make_window)
    insp = window.inspector
    insp.anim_dock.show()
    qtbot.waitExposed(insp.anim_dock)
    insp.anim.step_by(8)
    insp.anim.set_playing(True)
    settle(window)
    assert np.isnan(window.sum_panel.feature.image.image).any()
    insp.anim_dock.close()  # its × button
    settle(window)
    assert insp.anim.step == -1 and not insp.anim.timer.isActive()
    shown = window.sum_panel.feature.image.image
    np.testing.assert_array_equal(shown, window.controller.frame.feature_maps[..., 0])
    assert window.sum_panel.feature.image.pending is None
    assert drawn_colour(window.sum_panel.feature, 5, 5) != QtGui.QColor(*PENDING)


def test_the_figure_draws_overflow_in_its_colour_and_says_so(make_window):
    window = _overflowing(make_window)
    state = window.controller.state()
    data = pipeline_data(state)
    assert data.map_levels[1] >= 5e36
    layout = pipeline_layout(data)
    lines = [line for box in layout.texts for line in box.lines]
    assert any(line.startswith("Black pixels: values that exceed float32") for line in lines)
    image = render_pipeline(state)
    rect = layout.maps[("feature map", 0)]
    centre = rect.topLeft() + QtGui.QVector2D(1.5, 1.5).toPointF() * layout.pixel
    assert image.pixelColor(centre.toPoint()) == QtGui.QColor(*OVERFLOW)


def test_the_presentation_view_draws_pending_and_overflow_apart_too(make_window, qtbot):
    from tests.qt.test_present import _present

    window = _overflowing(make_window)
    view = _present(window, qtbot)
    insp = window.inspector
    insp.anim.step_by(8)
    settle(window)
    cell = view.feature.cell
    assert drawn_colour(cell, 1, 1) == QtGui.QColor(*OVERFLOW)  # computed, overflowed
    assert drawn_colour(cell, 5, 5) == QtGui.QColor(*PENDING)  # not computed yet
    note = view.hidden_note
    assert "Values exceed float32" in note.text()
    assert note.height() >= note.heightForWidth(note.width())  # every wrapped line shows
