import itertools

import numpy as np
from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.presets import make_kernel
from convviz.qt.base.views import MIN_TITLE_SCALE
from tests.files import sparse_npy
from tests.qt.helpers import (
    PATIENCE_MS,
    assert_views_match_model,
    drag,
    image_to_viewport,
    settle,
)


def test_first_screen_shows_three_kernels_three_maps_two_feature_maps(window):
    res = assert_views_match_model(window)
    assert res.feature_maps.shape == (10, 12, 2)
    assert len(window.sum_panel.cells) == 3 + 2  # 3 kernel maps, pre-activation, feature map
    titles = [c.title.text for c in window.sum_panel.cells]
    assert "kernel 2 on <b>G</b><br>→ kernel map 2" in titles[1]
    assert "feature map 1" in window.sum_panel.feature.title.text
    # Shapes never break across lines: their spaces are non-breaking.
    assert "(10,\u00a012,\u00a02)" in window.filters_title.text()
    assert "(12,\u00a014,\u00a03)" in window.input_title.text()
    assert window.editor._title.text() == "Filter 1 of 2 · shape (3, 3, 3)"


def test_drag_on_a_channel_paints_a_continuous_stroke_and_undo_restores(window):
    doc = window.controller.doc
    before = doc.input.copy()
    window.brush.radius.setValue(0.5)
    window.brush.value.setValue(0.0)
    cell = window.input_panel.cells[1]  # channel G
    view, a = image_to_viewport(cell, 6.5, 1.5)
    _, b = image_to_viewport(cell, 6.5, 12.5)
    # Only two move events across the whole image: the controller must join them.
    drag(view, [a, (a + b) / 2, b])
    assert (doc.input[6, 1:13, 1] == 0).all()
    assert np.array_equal(doc.input[..., 0], before[..., 0])
    assert np.array_equal(doc.input[..., 2], before[..., 2])
    assert_views_match_model(window)
    assert window.undo_action.text() == "Undo Erase on G"
    window.undo_action.trigger()
    assert np.array_equal(doc.input, before)
    assert_views_match_model(window)
    window.redo_action.trigger()
    assert (doc.input[6, 1:13, 1] == 0).all()


def test_all_channels_target_paints_every_channel(window):
    doc = window.controller.doc
    window.brush.target.setCurrentIndex(1)
    window.brush.value.setValue(0.5)
    view, a = image_to_viewport(window.input_panel.cells[0], 3.5, 3.5)
    _, b = image_to_viewport(window.input_panel.cells[0], 3.5, 8.5)
    drag(view, [a, b])
    assert (doc.input[3, 3:9, :] == 0.5).all()


def test_typing_in_a_kernel_cell_updates_every_panel_and_undo(window, qtbot):
    doc = window.controller.doc
    before = doc.kernel.copy()
    cell = window.editor.cell(0, 2, 1)
    cell.setFocus()
    cell.selectAll()
    qtbot.keyClicks(cell, "1/9")
    qtbot.keyClick(cell, QtCore.Qt.Key.Key_Return)
    assert doc.kernel[0, 2, 1, 0] == np.float32(1 / 9)
    assert_views_match_model(window)
    window.controller.undo()
    assert np.array_equal(doc.kernel, before)
    assert_views_match_model(window)


def test_nonsense_in_a_cell_is_refused_and_nothing_changes(window, qtbot):
    doc = window.controller.doc
    before = doc.kernel.copy()
    cell = window.editor.cell(1, 1, 0)
    old_text = cell.text()
    cell.setFocus()
    cell.selectAll()
    qtbot.keyClicks(cell, "import os")
    qtbot.keyClick(cell, QtCore.Qt.Key.Key_Return)
    assert np.array_equal(doc.kernel, before)
    assert cell.text() == old_text
    assert "not a number" in window.statusBar().currentMessage()


def test_picking_a_preset_applies_it_to_the_selected_filter(window, qtbot):
    doc = window.controller.doc
    window.controller.select_filter(1)
    settle(window)
    button = next(
        b
        for b in window.layer_panel.findChildren(QtWidgets.QPushButton)
        if b.text() == "this filter"
    )
    # No preset is shown as the filter's own, and there is nothing to apply yet.
    assert window.layer_panel.preset.currentIndex() == -1 and not button.isEnabled()
    window.layer_panel.preset.setCurrentText("laplacian")
    assert button.isEnabled()
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    for k in range(3):
        assert np.array_equal(doc.kernel[:, :, k, 1], make_kernel("laplacian", 3, 3))
    assert np.array_equal(doc.kernel[:, :, 1, 0], make_kernel("sobel x", 3, 3))
    assert_views_match_model(window)


def test_clicking_a_feature_map_selects_its_filter(window, qtbot):
    cell = window.filters_panel.cells[1]
    view, pt = image_to_viewport(cell, 2.5, 2.5)
    qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pt)
    assert window.controller.doc.selected_filter == 1
    settle(window)
    assert window.editor._title.text().startswith("Filter 2 of 2")
    assert window.filters_panel.cells[1].title.text.startswith("▶")
    assert_views_match_model(window)


def test_layer_settings_widgets_change_the_layer(window):
    doc = window.controller.doc
    window.layer_panel.filters.setValue(4)
    window.layer_panel.kw.setValue(5)
    window.layer_panel.sh.setValue(2)
    window.layer_panel.padding.setCurrentText("same")
    window.layer_panel.activation.setCurrentText("tanh")
    s = doc.settings
    assert (s.filters, s.kernel_size, s.strides, s.padding, s.activation) == (
        4,
        (3, 5),
        (2, 1),
        "same",
        "tanh",
    )
    assert doc.kernel.shape == (3, 5, 3, 4)
    res = assert_views_match_model(window)
    assert res.feature_maps.shape == (6, 14, 4)


def test_kernel_larger_than_input_shows_a_message_not_a_crash(make_window):
    window = make_window(np.random.default_rng(1).random((4, 4, 1)).astype(np.float32))
    window.layer_panel.kh.setValue(7)
    settle(window)
    assert "Output is empty" in window.sum_panel.message.text
    assert window.controller.frame.feature_maps is None
    window.layer_panel.padding.setCurrentText("same")
    assert_views_match_model(window)


def test_edits_in_one_turn_coalesce_into_one_recompute(window):
    c = window.controller
    settle(window)
    n = c.recomputes
    for v in range(20):
        c.set_kernel_value(0, 0, 0, v / 10, nudge=True)
    QtWidgets.QApplication.processEvents()
    assert c.recomputes == n + 1
    assert_views_match_model(window)


def test_loading_an_image_and_a_bad_file(window, tmp_path, monkeypatch):
    rgb = (np.arange(5 * 7 * 3).reshape(5, 7, 3) % 256).astype(np.uint8)
    path = tmp_path / "tiny.png"
    Image.fromarray(rgb).save(path)
    assert window.load_path(path)
    doc = window.controller.doc
    np.testing.assert_allclose(doc.input, rgb / 255.0, atol=1e-7)
    assert doc.channel_names == ("R", "G", "B")
    assert_views_match_model(window)

    shown_errors = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text: shown_errors.append(text)
    )
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a png")
    kept = doc.input.copy()
    assert not window.load_path(bad)
    assert shown_errors and "broken.png" in shown_errors[0]
    assert np.array_equal(doc.input, kept)


def test_new_blank_input_and_fill(window):
    c = window.controller
    c.new_blank(9, 11, 5)
    doc = c.doc
    assert doc.input.shape == (9, 11, 5) and not doc.input.any()
    assert doc.kernel.shape == (3, 3, 5, 2)
    assert doc.channel_names == ("ch 1", "ch 2", "ch 3", "ch 4", "ch 5")
    c.fill_channel(2, 0.75)
    assert (doc.input[..., 2] == 0.75).all() and doc.input[..., 1].sum() == 0
    assert_views_match_model(window)
    c.undo()
    c.undo()
    assert doc.input.shape == (12, 14, 3)
    assert_views_match_model(window)


def test_dropping_an_image_file_loads_it(window, tmp_path):
    grey = np.arange(6 * 9, dtype=np.uint8).reshape(6, 9) * 4
    path = tmp_path / "dropped.png"
    Image.fromarray(grey).save(path)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    pos = QtCore.QPointF(200, 200)
    actions = QtCore.Qt.DropAction.CopyAction
    buttons, mods = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    enter = QtGui.QDragEnterEvent(pos.toPoint(), actions, mime, buttons, mods)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    window.dropEvent(QtGui.QDropEvent(pos, actions, mime, buttons, mods))
    doc = window.controller.doc
    np.testing.assert_allclose(doc.input[..., 0], grey / 255.0, atol=1e-7)
    assert doc.channel_names == ("grey",)
    assert window.undo_action.text() == "Undo Open dropped.png"
    assert_views_match_model(window)


def test_hovering_a_map_pixel_shows_its_value(window, qtbot):
    res = assert_views_match_model(window)
    cell = window.sum_panel.feature
    view, pt = image_to_viewport(cell, 3.5, 5.5)
    # pyqtgraph drops a move that comes within 1/60 s of the one before: move again (by a
    # pixel, inside the same map pixel) until the hover is seen, however slow the machine.
    moves = itertools.cycle((pt, pt + QtCore.QPoint(1, 0)))

    def hovered():
        qtbot.mouseMove(view.viewport(), next(moves))
        return "feature map 1" in window.hover_label.text()

    qtbot.waitUntil(hovered, timeout=PATIENCE_MS)
    value = float(window.hover_label.text().rsplit(":", 1)[1])
    assert "(row 3, col 5)" in window.hover_label.text()
    assert np.isclose(value, res.feature_maps[3, 5, 0], rtol=1e-3, atol=1e-4)


def test_refused_setting_springs_back_and_other_frames_leave_the_panel_alone(window, qtbot):
    c = window.controller
    panel = window.layer_panel
    c.change_settings(groups=3, filters=3)
    settle(window)
    panel.filters.lineEdit().selectAll()
    qtbot.keyClicks(panel.filters.lineEdit(), "4")
    qtbot.keyClick(panel.filters.lineEdit(), QtCore.Qt.Key.Key_Enter)
    settle(window)
    assert c.doc.settings.filters == 3  # groups=3 cannot split 4 filters
    assert panel.filters.value() == 3  # the box shows what the layer has
    # Frames that do not change the settings do not touch the panel's widgets.
    writes = []
    panel.filters.valueChanged.connect(writes.append)  # blocked while the panel writes
    original = panel.filters.setValue
    panel.filters.setValue = lambda v: (writes.append(v), original(v))
    c.set_kernel_value(0, 0, 0, 0.5)
    settle(window)
    assert writes == []
    c.change_settings(filters=6)
    settle(window)
    assert panel.filters.value() == 6 and 6 in writes


def test_filter_strip_titles_fit_their_columns(window, qtbot):
    """With two columns of filters every title is still readable, not clipped."""
    window.controller.change_settings(filters=8)
    settle(window)
    QtWidgets.QApplication.processEvents()
    cells = window.filters_panel.cells
    assert len(cells) == 8
    for cell in cells:
        text = cell.title.itemRect()  # as drawn, after shrinking or breaking lines
        assert 0 < text.width() <= cell.title.boundingRect().width() + 1, cell.title.text
        assert text.height() <= cell.title.boundingRect().height() + 1, cell.title.text
        assert cell.title.item.scale() >= MIN_TITLE_SCALE


def test_rebuilt_panels_free_their_old_cells_without_the_garbage_collector(window):
    """Old cells must go when a panel rebuilds, not whenever Python's cycle collector
    happens to run: a collection inside a new cell's Qt constructor crashed the app."""
    import gc
    import weakref

    settle(window)
    panels = (window.input_panel, window.sum_panel, window.filters_panel)
    old = [weakref.ref(cell) for panel in panels for cell in panel.cells]
    assert old
    gc.disable()
    try:
        window.controller.change_settings(filters=5, groups=1)
        window.controller.set_input(np.zeros((9, 9, 2), np.float32))
        settle(window)
        alive = [ref() for ref in old if ref() is not None]
        assert alive == []
    finally:
        gc.enable()


def _set_filters_by_typing(window, qtbot, n):
    box = window.layer_panel.filters.lineEdit()
    box.selectAll()
    qtbot.keyClicks(box, str(n))
    qtbot.keyClick(box, QtCore.Qt.Key.Key_Enter)
    settle(window)
    QtWidgets.QApplication.processEvents()


def _cell_rects(window):
    return [
        (c.view.sceneBoundingRect().getRect(), c.title.sceneBoundingRect().getRect())
        for c in window.filters_panel.cells
    ]


def test_changing_the_filter_count_adds_or_drops_cells_at_the_end(window, make_window, qtbot):
    """While the strip keeps its columns it keeps its cells, frees dropped ones at once,
    and ends up laid out exactly like a strip built from scratch."""
    import gc
    import weakref

    panel = window.filters_panel
    aspect = 10 / 12  # the first screen's output
    few, many = next(
        (a, b)
        for a, b in ((5, 7), (6, 8), (5, 6), (3, 4), (2, 3))
        if panel.best_layout(a, aspect)
        == panel.best_layout(b, aspect)
        == panel.best_layout(a + 1, aspect)
    )
    _set_filters_by_typing(window, qtbot, few + 1)
    first = list(panel.cells)
    _set_filters_by_typing(window, qtbot, many)
    cells = panel.cells
    assert cells[: few + 1] == first and len(cells) == many
    assert f"filter {many}" in cells[-1].title.text
    assert_views_match_model(window)
    dropped = [weakref.ref(c) for c in cells[few:]]
    del first[few:]
    gc.disable()
    try:
        _set_filters_by_typing(window, qtbot, few)
        assert all(ref() is None for ref in dropped)
    finally:
        gc.enable()
    assert panel.cells == first
    assert_views_match_model(window)
    fresh = make_window()
    fresh.controller.change_settings(filters=few)
    settle(fresh)
    QtWidgets.QApplication.processEvents()
    assert fresh.filters_panel.size() == panel.size()
    assert _cell_rects(window) == _cell_rects(fresh)


def test_filter_strip_picks_the_columns_that_make_maps_largest(window, qtbot):
    """However many filters, the maps stay visible and their titles readable."""
    panel = window.filters_panel
    for n in (1, 4, 9, 16):
        _set_filters_by_typing(window, qtbot, n)
        assert len(panel.cells) == n
        sides = [c.view.sceneBoundingRect() for c in panel.cells]
        side = min(min(r.width(), r.height()) for r in sides)
        assert side >= 24, (n, side)
        assert_views_match_model(window)
        for cell in panel.cells:  # titles are inside the panel and readable
            assert cell.title.item.scale() >= MIN_TITLE_SCALE
            assert panel.sceneRect().contains(cell.title.sceneBoundingRect().center())


def test_settings_beyond_the_apps_limits_are_refused_and_said(window):
    c = window.controller
    messages = []
    c.status.connect(messages.append)
    before = c.doc.settings
    c.change_settings(filters=32)
    c.change_settings(kernel_size=(12, 3))
    settle(window)
    assert c.doc.settings == before
    assert len(window.filters_panel.cells) == before.filters
    assert len(messages) == 2 and all("settings unchanged" in m for m in messages)


def test_an_input_over_the_memory_budget_is_refused_and_the_work_kept(
    make_window, tmp_path, monkeypatch
):
    """With --max-side raised, a file whose layer would not fit in memory is refused
    with the size that fits, before its values are converted; the document is untouched."""
    window = make_window()
    window.max_side = 8192  # as `convviz --max-side 8192`
    path = sparse_npy(tmp_path / "huge.npy", (3000, 3000, 16))
    before = window.controller.state()
    shown = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text: shown.append(text)
    )
    assert not window.load_path(path)
    ((text,),) = [shown]
    assert "huge.npy" in text and "budget" in text and "would fit" in text
    after = window.controller.state()
    assert np.array_equal(after["input"], before["input"])
    assert np.array_equal(after["kernel"], before["kernel"])
