"""Shared test helpers: drive the real widgets and compare what they show with the model."""

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz import conv2d
from convviz.core.numbers import format_number

# How long a test waits for something that must happen (a worker's result, a timer, a
# training step). A busy machine can take many times longer than an idle one; a wait that
# succeeds returns at once, so only a real failure costs this long.
PATIENCE_MS = 120_000


def scene_image(h=12, w=14, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((h, w, c)).astype(np.float32)


def settle(window):
    """Let the coalesced refresh run, and the kernel editor show every cell's value (a
    big filter's cells are shown a chunk per turn of the event loop)."""
    QtWidgets.QApplication.processEvents()
    window.controller.refresh_now()
    QtWidgets.QApplication.processEvents()
    for _ in range(100):
        if not window.editor.echo_pending:
            break
        QtWidgets.QApplication.processEvents()


def shown(cell):
    """The array an image cell is displaying right now."""
    return cell.image.image


def assert_views_match_model(window):
    """Every panel shows exactly conv2d of the document's current state."""
    settle(window)
    doc = window.controller.doc
    s = doc.settings
    f = doc.selected_filter
    res = conv2d(
        doc.input,
        doc.kernel,
        doc.bias if s.use_bias else None,
        kernel_map_filters=[f],
        **s.conv_kwargs(),
    )
    inputs = [c for c in window.input_panel.cells if c.index >= 0]
    assert len(inputs) == doc.channels
    for cell in inputs:
        np.testing.assert_array_equal(shown(cell), doc.input[:, :, cell.index])
    maps = res.kernel_maps_of(f)
    sum_cells = window.sum_panel.cells[: doc.kernel_channels]
    for k, cell in enumerate(sum_cells):
        np.testing.assert_allclose(shown(cell), maps[:, :, k], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        shown(window.sum_panel.feature), res.feature_maps[:, :, f], rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        shown(window.sum_panel.pre), res.pre_activation[:, :, f], rtol=1e-6, atol=1e-6
    )
    assert len(window.filters_panel.cells) == s.filters
    for cell in window.filters_panel.cells:
        np.testing.assert_allclose(
            shown(cell), res.feature_maps[:, :, cell.index], rtol=1e-6, atol=1e-6
        )
    kh, kw, cg, _ = doc.kernel.shape
    for k in range(cg):
        for r in range(kh):
            for c in range(kw):
                # Cells show 3 significant digits in at most 7 characters.
                text = window.editor.cell(r, c, k).text()
                assert text == format_number(doc.kernel[r, c, k, f], max_chars=7), (r, c, k)
    assert_map_scales_agree(window, sum_cells + [window.sum_panel.pre, window.sum_panel.feature])
    return res


def assert_map_scales_agree(window, map_cells=()):
    """The maps share one colour scale and one colour table, as the colours must add up.

    Every kernel map, sum, feature map and filter thumbnail is drawn with the same levels,
    symmetric about zero (white is zero) and wide enough for every finite value it
    shows, through the same table, whose middle colour (zero) is white.
    """
    cells = list(map_cells) + list(window.filters_panel.cells)
    levels = {tuple(float(v) for v in np.ravel(cell.image.levels)) for cell in cells}
    assert len(levels) == 1, levels
    ((lo, hi),) = levels
    assert lo == -hi and hi > 0, (lo, hi)
    for cell in cells:
        data = np.asarray(shown(cell), np.float32)
        finite = data[np.isfinite(data)]
        if finite.size:
            assert float(np.abs(finite).max()) <= hi * (1 + 1e-6), (cell, hi)
    tables = [np.asarray(cell.image.lut) for cell in cells]
    for table in tables[1:]:
        np.testing.assert_array_equal(table, tables[0])
    middle = tables[0][(len(tables[0]) - 1) // 2 : len(tables[0]) // 2 + 1]
    assert (middle[..., :3] >= 250).all(), middle  # zero is white


def image_to_viewport(cell, row, col):
    """Viewport position of image coordinate (row, col) of a map cell."""
    view = cell.image.scene().views()[0]
    scene_pt = cell.image.mapToScene(QtCore.QPointF(col, row))
    return view, view.mapFromScene(scene_pt)


def drag(view, points):
    """Press at the first viewport point, move through the rest, release at the last."""
    vp = view.viewport()
    left = QtCore.Qt.MouseButton.LeftButton
    none = QtCore.Qt.MouseButton.NoButton
    mods = QtCore.Qt.KeyboardModifier.NoModifier

    def send(kind, pt, button, buttons):
        pos = QtCore.QPointF(pt)
        ev = QtGui.QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, mods)
        QtWidgets.QApplication.sendEvent(vp, ev)

    send(QtCore.QEvent.Type.MouseButtonPress, points[0], left, left)
    for pt in points[1:]:
        send(QtCore.QEvent.Type.MouseMove, pt, none, left)
    send(QtCore.QEvent.Type.MouseButtonRelease, points[-1], left, none)
    QtWidgets.QApplication.processEvents()


def drawn_colour(cell, row, col):
    """The colour the view draws for image pixel (row, col) of a map cell, read near the
    pixel's top-left corner, clear of the number written in its middle."""
    view, pt = image_to_viewport(cell, row + 0.2, col + 0.2)
    return view.viewport().grab().toImage().pixelColor(pt)
