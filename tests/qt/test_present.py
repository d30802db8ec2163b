"""The presentation view on a real window: entering and leaving, what it shows, and
painting, editing, hovering, pinning and the presenter's keys there."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from convviz import conv2d
from convviz.core.lessons import LESSONS
from convviz.core.model import default_channel_names
from convviz.core.numbers import NUDGE_STEP, format_number
from convviz.qt.app import build_window, parse_args
from convviz.qt.sessions.manager import install_sessions
from tests.qt.helpers import PATIENCE_MS, drag, image_to_viewport, scene_image, settle, shown

Key = QtCore.Qt.Key


def _present(window, qtbot):
    """Enter the presentation view with its key, as a teacher does."""
    if not window.isActiveWindow():
        with qtbot.waitActive(window):
            window.activateWindow()
    qtbot.keyClick(window, Key.Key_F5)
    view = window.presentation
    qtbot.waitUntil(lambda: view.active and view.plan is not None, timeout=PATIENCE_MS)
    settle(window)
    return view


def _result(window):
    doc = window.controller.doc
    s = doc.settings
    f = doc.selected_filter
    bias = doc.bias if s.use_bias else None
    return conv2d(doc.input, doc.kernel, bias, kernel_map_filters=[f], **s.conv_kwargs())


def _assert_shows_model(window):
    """The presentation view shows exactly conv2d of the document, kernel numbers too."""
    settle(window)
    view, doc = window.presentation, window.controller.doc
    f = doc.selected_filter
    res = _result(window)
    maps = res.kernel_maps_of(f)
    for k, (inp, _, grid, _, kmap) in enumerate(view._rows):
        np.testing.assert_array_equal(shown(inp.cell), doc.input[:, :, k])
        np.testing.assert_allclose(shown(kmap.cell), maps[:, :, k], rtol=1e-6, atol=1e-6)
        kh, kw = doc.kernel.shape[:2]
        for r in range(kh):
            for c in range(kw):
                value = doc.kernel[r, c, k, f]
                assert grid.cell(r, c, k).text() == format_number(value, max_chars=7)
    np.testing.assert_allclose(shown(view.pre.cell), res.pre_activation[:, :, f], atol=1e-6)
    np.testing.assert_allclose(shown(view.feature.cell), res.feature_maps[:, :, f], atol=1e-6)


@pytest.fixture
def lessons(window, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    manager = install_sessions(window, settings=settings, recovery_dir=tmp_path / "rec")
    manager.ask_unsaved = lambda: "discard"
    return manager


def test_f5_presents_full_screen_and_esc_leaves_the_window_as_it_was(window, qtbot):
    window.inspector.shapes_dock.show()
    settle(window)
    qtbot.wait(1)
    assert window.inspector.shapes_dock.isVisible() and not window.isFullScreen()
    view = _present(window, qtbot)
    assert window.isFullScreen() and window.central.currentWidget() is view
    for bar in (window.menuBar(), window.statusBar(), window.brush, window.inspector.shapes_dock):
        assert not bar.isVisible(), bar
    assert window.present_action.isChecked()
    _assert_shows_model(window)
    # Three rows, one per kernel of the filter, then the sum and the feature map.
    assert len(view._rows) == 3 and view.hidden_note.isHidden()
    qtbot.keyClick(view, Key.Key_Escape)
    assert not view.active and not window.isFullScreen()
    assert window.central.currentWidget() is window.columns
    for bar in (window.menuBar(), window.statusBar(), window.brush, window.inspector.shapes_dock):
        assert bar.isVisible(), bar
    assert not window.present_action.isChecked()


def test_the_presentation_shows_what_the_window_shows_muted_kernels_and_the_sliding_window(
    window, qtbot
):
    view = _present(window, qtbot)
    insp = window.inspector
    insp.set_muted({1})
    settle(window)
    np.testing.assert_array_equal(shown(view.pre.cell), shown(window.sum_panel.pre))
    np.testing.assert_array_equal(shown(view._rows[1][4].cell), np.zeros((10, 12), np.float32))
    assert "muted" in view.hidden_note.text() and view.hidden_note.isVisible()
    insp.set_muted(set())
    insp.anim.active.setChecked(True)
    insp.anim.slider.setValue(5)
    settle(window)
    partial = shown(view.feature.cell)
    np.testing.assert_array_equal(partial, shown(window.sum_panel.feature))
    assert np.isnan(partial).sum() == partial.size - 6
    insp.anim.active.setChecked(False)
    _assert_shows_model(window)


def test_painting_and_typing_a_kernel_number_in_the_presentation_then_undo(window, qtbot):
    doc = window.controller.doc
    view = _present(window, qtbot)
    window.brush.radius.setValue(0.5)
    window.brush.value.setValue(0.0)
    before = doc.input.copy()
    cell = view._rows[2][0].cell  # channel B
    canvas, a = image_to_viewport(cell, 4.5, 2.5)
    _, b = image_to_viewport(cell, 4.5, 9.5)
    drag(canvas, [a, b])
    assert (doc.input[4, 2:10, 2] == 0).all()
    np.testing.assert_array_equal(doc.input[..., :2], before[..., :2])
    _assert_shows_model(window)
    number = view._rows[1][2].cell(2, 0, 1)
    number.setFocus()
    number.selectAll()
    qtbot.keyClicks(number, "-0.5")
    qtbot.keyClick(number, Key.Key_Return)
    assert doc.kernel[2, 0, 1, 0] == np.float32(-0.5)
    _assert_shows_model(window)
    assert window.editor.cell(2, 0, 1).text() == "-0.5"  # the normal view follows
    # The menu bar is hidden, its shortcuts still work.
    qtbot.keyClick(view, Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert doc.kernel[2, 0, 1, 0] != np.float32(-0.5)
    qtbot.keyClick(view, Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(doc.input, before)
    _assert_shows_model(window)


def test_hovering_and_pinning_a_pixel_in_the_presentation(window, qtbot):
    insp = window.inspector
    view = _present(window, qtbot)
    res = _result(window)
    feature = view.feature.cell
    feature.hovered.emit(feature, 3, 5)
    assert insp.target == (0, 3, 5)
    value = format_number(float(res.feature_maps[3, 5, 0]), 3)
    assert "feature map 1 (row 3, col 5)" in view.strip.readout.text()
    assert view.strip.readout.text().endswith(value)
    canvas, pt = image_to_viewport(feature, 3.5, 5.5)
    qtbot.mouseClick(canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pt)
    assert insp.pinned and insp.target == (0, 3, 5)
    assert not insp.arith_dock.isVisible()  # no dock over the presentation
    # The receptive field is outlined on the presentation's input channels.
    for row in view._rows:
        overlay = row[0].cell._inspect_overlay
        assert {(r.y(), r.x()) for r in overlay.solid} == {
            (r, c) for r in range(3, 6) for c in range(5, 8)
        }
    assert "pinned" in view.strip.readout.text()
    qtbot.keyClick(view, Key.Key_Right)
    assert insp.target == (0, 3, 6)
    qtbot.keyClick(view, Key.Key_Escape)  # unpins first
    assert not insp.pinned and view.active
    qtbot.keyClick(view, Key.Key_Escape)
    assert not view.active


def test_page_keys_step_lessons_even_from_a_kernel_cell_which_keeps_its_value(
    window, lessons, qtbot
):
    assert lessons.open_lesson(1)
    view = _present(window, qtbot)
    assert not lessons.dock.isVisible()  # the band shows the lesson
    assert LESSONS[1].title in view.band.text.toPlainText()
    assert view.band.text.font().pointSizeF() >= 18
    number = view._rows[0][2].cell(1, 1, 0)
    number.setFocus()
    kernel = window.controller.doc.kernel.copy()
    qtbot.keyClick(number, Key.Key_PageDown)
    qtbot.waitUntil(lambda: lessons.dock.index == 2, timeout=PATIENCE_MS)
    assert LESSONS[2].title in view.band.text.toPlainText()
    assert window.controller.history.undo_label is None  # nothing was nudged
    qtbot.keyClick(view, Key.Key_PageUp)
    qtbot.waitUntil(lambda: lessons.dock.index == 1, timeout=PATIENCE_MS)
    np.testing.assert_array_equal(window.controller.doc.kernel, kernel)
    qtbot.keyClick(view, Key.Key_Escape)
    assert lessons.dock.isVisible()
    # In the normal view a focused kernel cell keeps Page Up / Down for nudging.
    cell = window.editor.cell(1, 1, 0)
    cell.setFocus()
    qtbot.keyClick(cell, Key.Key_PageUp)
    assert window.controller.doc.kernel[1, 1, 0, 0] == np.float32(kernel[1, 1, 0, 0] + NUDGE_STEP)
    assert lessons.dock.index == 1


def test_filter_keys_and_buttons_in_the_presentation(window, qtbot):
    window.controller.change_settings(filters=4)
    view = _present(window, qtbot)
    qtbot.keyClick(view, Key.Key_F)
    assert window.controller.doc.selected_filter == 1
    qtbot.keyClick(view, Key.Key_4)
    assert window.controller.doc.selected_filter == 3
    settle(window)
    assert not view.strip.next_filter.isEnabled()
    qtbot.keyClick(view, Key.Key_F, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert window.controller.doc.selected_filter == 2
    settle(window)
    view.strip.previous_filter.click()
    assert window.controller.doc.selected_filter == 1
    settle(window)
    assert view.strip.filter_label.text() == "Filter 2 of 4"  # one layer: no layer named
    _assert_shows_model(window)


def test_larger_presentation_text_grows_the_lesson_text_and_never_shrinks_a_map(
    window, lessons, qtbot
):
    assert lessons.open_lesson(2)
    view = _present(window, qtbot)

    def sides():
        cells = view.input_panel.cells + view.sum_panel.cells
        return [c.image.sceneBoundingRect().size().toTuple() for c in cells]

    before, points = sides(), view.band.text.font().pointSizeF()
    for _ in range(4):
        qtbot.keyClick(view, Key.Key_Plus, QtCore.Qt.KeyboardModifier.ControlModifier)
        settle(window)
    assert view.band.text.font().pointSizeF() == pytest.approx(2 * points)
    assert sides() == before
    for _ in range(4):
        window.smaller_text_action.trigger()
    assert view.band.text.font().pointSizeF() == pytest.approx(points)


def test_more_kernels_than_fit_are_named_and_every_map_shown_is_whole(make_window, qtbot):
    image = scene_image(20, 24, 16)
    window = make_window(image, default_channel_names(16))
    view = _present(window, qtbot)
    shown_rows = len(view._rows)
    assert 1 <= shown_rows < 16
    note = view.hidden_note
    assert note.isVisible() and f"+ {16 - shown_rows} more kernels" in note.text()
    room = QtCore.QRectF(view.diagram.rect())
    for cell in view.input_panel.cells + view.sum_panel.cells:
        canvas = cell.image.scene().views()[0]
        rect = canvas.mapFromScene(cell.image.sceneBoundingRect()).boundingRect()
        inside = QtCore.QRectF(rect.translated(canvas.mapTo(view.diagram, QtCore.QPoint())))
        assert room.contains(inside), cell.name
        assert min(inside.width(), inside.height()) >= 48, cell.name
    _assert_shows_model(window)


def test_present_on_the_command_line(qtbot):
    window = build_window(parse_args(["--sample", "digit", "--present"]))
    qtbot.addWidget(window)
    window.show()
    assert window.presentation.active and window.isFullScreen()
    qtbot.waitUntil(lambda: window.presentation.plan is not None, timeout=PATIENCE_MS)
    assert len(window.presentation._rows) == 1  # one grey channel: one kernel
    window.presentation.leave()
    assert not window.isFullScreen()


def test_esc_unpins_then_closes_the_arithmetic_in_the_normal_view(window, qtbot):
    insp = window.inspector
    settle(window)
    cell = window.sum_panel.feature
    canvas, pt = image_to_viewport(cell, 2.5, 2.5)
    qtbot.mouseClick(canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pt)
    qtbot.waitUntil(insp.arith_dock.isVisible, timeout=PATIENCE_MS)
    number = window.editor.cell(0, 0, 0)
    number.setFocus()  # an unchanged cell passes Esc on to the window
    qtbot.keyClick(number, Key.Key_Escape)
    assert not insp.pinned and insp.arith_dock.isVisible()
    qtbot.keyClick(window, Key.Key_Escape)
    assert not insp.arith_dock.isVisible()
    # A half-typed number is still reverted by Esc, and nothing else happens.
    insp.arith_dock.show()
    number.setFocus()
    qtbot.keyClicks(number, "7")
    qtbot.keyClick(number, Key.Key_Escape)
    assert number.text() == format_number(window.controller.doc.kernel[0, 0, 0, 0], max_chars=7)
    assert insp.arith_dock.isVisible()


def test_full_screen_keys_and_the_action_follow_the_window(window, qtbot):
    action = window.full_screen_action
    assert QtCore.Qt.Key.Key_F11 in [k[0].key() for k in action.shortcuts()]
    action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=PATIENCE_MS)
    window.presentation.enter()
    window.presentation.leave()
    assert window.isFullScreen() and action.isChecked()  # as it was before presenting
    action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=PATIENCE_MS)
    assert not action.isChecked()
    QtWidgets.QApplication.processEvents()
