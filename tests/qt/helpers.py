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
    """Let the coalesced refresh run."""
    QtWidgets.QApplication.processEvents()
    window.controller.refresh_now()
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
    return res


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
