"""The inspector on a real window: pixel arithmetic, sliding window, shapes, mutes, export."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from convviz import conv2d, conv_geometry
from convviz.qt.inspection.docks import num
from tests.qt.helpers import assert_views_match_model, image_to_viewport, settle, shown


@pytest.fixture
def insp(window):
    settle(window)
    return window.inspector


def _result(window):
    doc = window.controller.doc
    s = doc.settings
    bias = doc.bias if s.use_bias else None
    return conv2d(doc.input, doc.kernel, bias, **s.conv_kwargs())


def test_hovering_a_kernel_map_pixel_shows_its_arithmetic(window, insp):
    c = window.controller
    c.change_settings(padding="same", strides=(2, 1), padding_mode="reflect", activation="tanh")
    c.set_bias(0.25)
    settle(window)
    res = _result(window)
    cell = window.sum_panel.cells[1]
    cell.hovered.emit(cell, 0, 0)
    a = insp.arithmetic
    assert (a.filter, a.row, a.col) == (0, 0, 0)
    text = insp.arith_label.text()
    maps = res.kernel_maps_of(0)
    for part in a.channels:
        np.testing.assert_allclose(part.total, maps[0, 0, part.kernel_index], atol=1e-5)
        assert np.isclose(part.products.sum(), maps[0, 0, part.kernel_index], atol=1e-5)
        assert f"<b>{num(maps[0, 0, part.kernel_index])}</b>" in text
    assert f"<b>{num(res.pre_activation[0, 0, 0])}</b>" in text
    value = f"tanh({num(res.pre_activation[0, 0, 0])}) = <b>{num(res.feature_maps[0, 0, 0])}</b>"
    assert value in text
    # Receptive field: one rectangle per tap on the channels this filter reads.
    overlay = window.input_panel.cells[0]._inspect_overlay
    assert len(overlay.solid) + len(overlay.dashed) == 9
    assert [r.x() for r in overlay.dashed] == [-1, -1, -1]  # column -1 is padding
    # Reflect padding: column -1 holds column 1, as the patch shows.
    np.testing.assert_array_equal(a.channels[0].patch[:, 0], window.controller.doc.input[:3, 1, 0])
    cell.hovered.emit(cell, -1, -1)
    assert insp.arithmetic is None


def test_click_pins_arrows_move_and_esc_unpins_but_kernel_cells_keep_arrows(window, insp, qtbot):
    cell = window.sum_panel.feature
    view, pt = image_to_viewport(cell, 3.5, 4.5)
    qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pt)
    assert insp.pinned and insp.target == (0, 3, 4)
    other = window.sum_panel.cells[0]
    other.hovered.emit(other, 1, 1)  # hover does not move a pinned pixel
    assert insp.target == (0, 3, 4)
    window.activateWindow()
    window.setFocus()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Down)
    assert insp.target == (0, 4, 5)
    res = _result(window)
    assert insp.arithmetic.value == pytest.approx(float(res.feature_maps[4, 5, 0]), abs=1e-5)
    edit = window.editor.cell(0, 0, 0)
    edit.setFocus()
    edit.setCursorPosition(0)
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Right)
    assert insp.target == (0, 4, 5) and edit.cursorPosition() == 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    assert not insp.pinned and insp.arithmetic is None


def test_sliding_window_fills_the_maps_step_by_step(window, insp, qtbot):
    c = window.controller
    c.change_settings(strides=(2, 3), padding="full")
    settle(window)
    res = _result(window)
    h_out, w_out, _ = res.feature_maps.shape
    insp.anim.active.setChecked(True)
    insp.anim.slider.setValue(w_out + 1)  # second pixel of the second row
    done = w_out + 2
    fm = shown(window.sum_panel.feature).reshape(-1)
    np.testing.assert_allclose(fm[:done], res.feature_maps[..., 0].reshape(-1)[:done], atol=1e-6)
    assert np.isnan(fm[done:]).all()
    for cell in window.filters_panel.cells:
        assert np.isnan(shown(cell).reshape(-1)[done:]).all()
    km = shown(window.sum_panel.cells[2]).reshape(-1)
    np.testing.assert_allclose(km[:done], res.kernel_maps[..., 2, 0].reshape(-1)[:done], atol=1e-6)
    assert insp.target == (0, 1, 1)
    rows, cols = conv_geometry((12, 14), (3, 3), (2, 3), "full", 1).input_window(1, 1)
    overlay = window.input_panel.cells[0]._inspect_overlay
    got = {(int(r.y()), int(r.x())) for r in overlay.solid + overlay.dashed}
    assert got == {(r, col) for r in rows for col in cols}
    window.setFocus()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert insp.anim.step == done and insp.target == (0, 1, 2)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert insp.anim.timer.isActive()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not insp.anim.timer.isActive()
    insp.anim.active.setChecked(False)
    assert_views_match_model(window)


def test_shapes_panel_has_the_layer_numbers(window, insp):
    window.controller.change_settings(filters=4, padding="same", strides=(2, 2), groups=1)
    settle(window)
    text = insp.shapes_label.text()
    assert "(12, 14, 3)" in text and "(3, 3, 3, 4)" in text and "(6, 7, 4)" in text
    assert "= 108 + 4 = 112" in text
    assert "top = ⌊p/2⌋ = 0, bottom = p − top = 1" in text


def test_muting_changes_the_shown_sum_not_the_weights(window, insp):
    doc = window.controller.doc
    before = doc.kernel.copy()
    res = _result(window)
    insp.variants.boxes[1].setChecked(False)  # leave kernel 2 (G) out of the sum
    assert insp.muted == {1}
    maps = res.kernel_maps_of(0)
    expected = np.maximum(maps[..., 0] + maps[..., 2] + doc.bias[0], 0)
    np.testing.assert_allclose(shown(window.sum_panel.feature), expected, atol=1e-5)
    assert not shown(window.sum_panel.cells[1]).any()
    assert "muted: G" in window.sum_panel.message.text
    assert np.array_equal(doc.kernel, before)
    cell = window.sum_panel.pre
    cell.hovered.emit(cell, 2, 2)
    assert insp.arithmetic.channels[1].muted
    assert insp.arithmetic.pre_activation == pytest.approx(maps[2, 2, 0] + maps[2, 2, 2], abs=1e-5)
    insp.variants.solo.setCurrentIndex(0)
    insp.variants.solo.activated.emit(0)  # "all kernels"
    assert insp.muted == set()
    assert_views_match_model(window)


def test_groups_flip_and_the_sum_panel_says_maps_are_not_summed(window, insp):
    doc = window.controller.doc
    insp.variants.groups.setCurrentIndex(1)
    insp.variants.groups.activated.emit(1)  # groups = 3 (depthwise)
    settle(window)
    assert (doc.settings.groups, doc.settings.filters) == (3, 3)
    assert "NOT summed" in window.sum_panel.message.text
    insp.variants.flip.setChecked(True)
    assert doc.settings.flip_kernel
    assert_views_match_model(window)
    window.controller.undo()
    window.controller.undo()
    assert doc.settings.groups == 1 and not doc.settings.flip_kernel


def test_exported_weights_and_code(window, insp, tmp_path):
    doc = window.controller.doc
    files = insp.export_to(tmp_path / "w", "pytorch")
    weight = np.load(files[0])
    assert weight.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(weight.transpose(2, 3, 1, 0), doc.kernel)
    np.testing.assert_array_equal(np.load(files[1]), doc.bias)
    dialog = insp.show_code()
    assert "layer.set_weights([kernel, bias])" in dialog.editors["Keras"].toPlainText()
    dialog.tabs.setCurrentIndex(1)
    dialog.copy_button.click()
    assert "torch.nn.Conv2d(" in QtWidgets.QApplication.clipboard().text()
    dialog.close()


def test_numbers_on_small_maps_and_view_options(window, insp):
    cell = window.sum_panel.feature
    np.testing.assert_array_equal(cell._inspect_numbers.values, shown(cell))
    window.controller.change_settings(padding=1)
    settle(window)
    numbers = window.input_panel.cells[0]._inspect_numbers
    assert numbers.values.shape == (14, 16) and numbers.offset == (-1, -1)
    assert numbers.ghost[0].all() and not numbers.ghost[1:-1, 1:-1].any()
    insp.numbers_action.setChecked(False)
    assert cell._inspect_numbers.values is None
    insp.set_colour_map("colour-blind")
    assert window.sum_panel.feature.colormap.name == "colour-blind"
    insp.set_colour_map("blue-white-red")
    assert_views_match_model(window)


@pytest.mark.parametrize("value", [1e30, -1e30, -123.4, 0.0123, -2e-5, 7.0])
@pytest.mark.parametrize("cell_px", [18.0, 30.0, 64.0])
def test_numbers_on_cells_fit_inside_their_cell(qtbot, value, cell_px):
    """A value's text never spills into the next cell, however long it is."""
    from PySide6 import QtGui

    from convviz.core.numbers import short_number as _short
    from convviz.qt.inspection.overlay import number_px

    font = QtGui.QFont()
    font.setPixelSize(100)
    px = number_px(_short(value), cell_px, QtGui.QFontMetricsF(font))
    for italic in (False, True):  # padding values are drawn in italics
        font.setPixelSize(px)
        font.setItalic(italic)
        width = QtGui.QFontMetricsF(font).horizontalAdvance(_short(value))
        assert width <= cell_px or px == 6, (_short(value), px, width)
    assert len(_short(value).lstrip("-")) <= 5


def test_weights_export_sits_in_the_export_menu_and_writes_the_files(
    window, insp, tmp_path, monkeypatch
):
    menu = window.exports.menu
    assert insp.export_weights_action in menu.actions()
    assert insp.export_weights_action not in window.file_menu.actions()
    target = tmp_path / "mine.npy"
    monkeypatch.setattr(
        QtWidgets.QFileDialog,
        "getSaveFileName",
        staticmethod(lambda *a, **k: (str(target), "")),  # no filter chosen: Keras
    )
    insp.export_weights_action.trigger()
    np.testing.assert_array_equal(np.load(target), window.controller.doc.kernel)


def test_every_frame_takes_one_route_through_the_view_options_to_the_panels(window, insp):
    """controller -> the inspector's view options -> MainWindow.show_frame -> frameShown:
    each frame the controller makes is shown once, as the view options make it."""
    c = window.controller
    made, shown_frames = [], []
    c.frameReady.connect(made.append)
    window.frameShown.connect(shown_frames.append)
    insp.set_muted({0})  # a view option: the sum shown leaves kernel 1 out
    c.set_kernel_value(1, 1, 1, 0.5)
    settle(window)
    assert made and len(shown_frames) == len(made) + 1  # + the re-show for muting
    last = shown_frames[-1]
    assert last is insp.shown and last is not made[-1]
    f = last.selected
    expected = made[-1].kernel_maps[..., 1:].sum(axis=2) + (made[-1].bias_value or 0.0)
    np.testing.assert_allclose(last.pre_activation[..., f], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(shown(window.sum_panel.pre), expected, rtol=1e-5, atol=1e-5)
    insp.set_muted(set())
    settle(window)
    np.testing.assert_array_equal(
        shown(window.sum_panel.pre), c.frame.pre_activation[..., c.frame.selected]
    )
