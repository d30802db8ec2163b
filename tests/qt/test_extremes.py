"""Extreme but legal settings: the expected result or a clear message, never a crash."""

import numpy as np
from PIL import Image

from tests.qt.helpers import assert_views_match_model, settle


def test_strides_larger_than_the_input(make_window):
    window = make_window(np.random.default_rng(0).random((5, 5, 1)).astype(np.float32))
    window.controller.change_settings(strides=(7, 9))
    res = assert_views_match_model(window)
    assert res.feature_maps.shape == (1, 1, 2)  # only the top-left window fits


def test_dilation_that_overshoots_says_why_then_same_padding_recovers(make_window):
    window = make_window(np.random.default_rng(0).random((6, 6, 2)).astype(np.float32))
    window.layer_panel.dh.setValue(4)  # a 3×3 kernel now spans 9 rows of a 6-row input
    settle(window)
    message = window.sum_panel.message.text
    assert "Output is empty" in message and "dilated to 9×3" in message
    assert window.controller.frame.feature_maps is None
    window.layer_panel.padding.setCurrentText("same")
    res = assert_views_match_model(window)
    assert res.feature_maps.shape == (6, 6, 2)


def test_sixteen_channels_sixteen_filters_eleven_by_eleven(window):
    c = window.controller
    c.new_blank(24, 20, 16)
    c.fill_channel(3, 0.5)
    c.change_settings(filters=16, kernel_size=(11, 11))
    c.apply_preset("random", scope="layer")
    res = assert_views_match_model(window)
    assert res.feature_maps.shape == (14, 10, 16)
    assert len(window.sum_panel.cells) == 16 + 2
    assert len(window.filters_panel.cells) == 16
    c.select_filter(15)
    assert_views_match_model(window)


def test_one_pixel_input_and_one_by_one_kernels(window, tmp_path):
    path = tmp_path / "dot.png"
    Image.fromarray(np.array([[200]], np.uint8)).save(path)
    assert window.load_path(path)
    c = window.controller
    assert c.doc.input.shape == (1, 1, 1)
    settle(window)
    assert "Output is empty" in window.sum_panel.message.text  # 3×3 on 1×1
    window.layer_panel.kh.setValue(1)
    window.layer_panel.kw.setValue(1)
    c.apply_preset("identity", scope="layer")
    res = assert_views_match_model(window)
    assert res.feature_maps.shape == (1, 1, 2)
    assert np.isclose(res.feature_maps[0, 0, 0], 200 / 255)


def test_changing_counts_during_a_stroke_keeps_the_stroke_and_never_crashes(window):
    c = window.controller
    before = c.doc.input.copy()
    c.begin_stroke(0, 2.5, 2.5, 1.0, 0.0)
    c.stroke_to(2.5, 9.5)
    window.layer_panel.filters.setValue(5)  # while the mouse button is still down
    c.stroke_to(8.5, 9.5)
    c.end_stroke()
    assert c.doc.settings.filters == 5
    assert (c.doc.input[2, 2:10, 0] == 0).all() and (c.doc.input[2:9, 9, 0] == 0).all()
    assert_views_match_model(window)
    c.begin_stroke(1, 4.5, 4.5, 1.0, 1.0)
    c.stroke_to(4.5, 8.5)
    c.new_blank(7, 8, 2)  # a new input mid-stroke: the stroke is finished first
    c.stroke_to(1.0, 1.0)  # the mouse moves on: nothing left to paint on
    c.end_stroke()
    assert c.doc.input.shape == (7, 8, 2) and not c.doc.input.any()
    assert_views_match_model(window)
    c.undo()  # the new input
    assert c.doc.input.shape == before.shape and (c.doc.input[4, 4:9, 1] == 1).all()
    c.undo()  # the second stroke
    c.undo()  # the filters change
    c.undo()  # the first stroke
    assert np.array_equal(c.doc.input, before)


def test_changing_counts_during_the_animation(window, qtbot):
    anim = window.inspector.anim
    anim.step_by(7)
    assert anim.step == 7  # steps count output pixels from 0
    window.layer_panel.filters.setValue(3)
    window.controller.new_blank(5, 6, 4)
    settle(window)
    assert anim.step <= anim.slider.maximum() == 3 * 4 - 1  # 3×4 output pixels now
    anim.step_by(100)
    settle(window)
    shown = window.sum_panel.feature.image.image
    assert shown.shape == (3, 4) and not np.isnan(shown).any()  # every pixel reached


def test_explicit_padding_from_a_session_is_shown_not_replaced(window):
    c = window.controller
    state = c.state()
    state["settings"] = state["settings"].__class__(
        **{**vars(state["settings"]), "padding": (1, 2, 0, 3)}
    )
    c.open_state(state)
    settle(window)
    assert window.layer_panel.padding.currentText() == "explicit (1, 2, 0, 3)"
    assert c.doc.settings.padding == (1, 2, 0, 3)
    res = assert_views_match_model(window)
    assert res.padding == (1, 2, 0, 3)
    window.layer_panel.padding.setCurrentText("same")  # back to a named padding
    assert c.doc.settings.padding == "same"
    settle(window)
    assert window.layer_panel.padding.count() == 3
