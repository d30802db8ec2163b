"""A brush segment repaints only the part of the window it changed, and the screen then
shows what a repaint of the whole window shows.

The maps schedule repaints of just the box a segment changed (plus a pixel around it),
so a stroke on a large input paints a few hundred screen pixels a move, not every map,
title and colour bar. Read from the window's backing store (what is on screen), not by
rendering the widgets afresh, which would hide a box left unpainted.
"""

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from tests.qt.helpers import image_to_viewport, scene_image, settle


def on_screen(window) -> np.ndarray:
    """The window's pixels as last painted (its backing store), as 0xAARRGGBB words."""
    image = window.windowHandle().screen().grabWindow(window.winId()).toImage()
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    words = np.frombuffer(image.constBits(), np.uint32)
    return words.reshape(image.height(), image.bytesPerLine() // 4)[:, : image.width()].copy()


def repainted_whole(window) -> np.ndarray:
    for view in window.findChildren(QtWidgets.QGraphicsView):
        view.viewport().repaint()
    QtWidgets.QApplication.processEvents()
    return on_screen(window)


class PaintedArea(QtCore.QObject):
    """Screen pixels painted in each viewport it watches."""

    def __init__(self, views):
        super().__init__()
        self.area = {view: 0 for view in views}
        for view in views:
            view.viewport().installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QtCore.QEvent.Type.Paint:
            for view in self.area:
                if view.viewport() is obj:
                    self.area[view] += sum(r.width() * r.height() for r in event.region())
        return False


def _mouse(view, kind, pt, buttons):
    left = QtCore.Qt.MouseButton.LeftButton
    button = QtCore.Qt.MouseButton.NoButton if kind == QtCore.QEvent.Type.MouseMove else left
    pos = QtCore.QPointF(pt)
    event = QtGui.QMouseEvent(
        kind, pos, view.viewport().mapToGlobal(pos), button, buttons,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QtWidgets.QApplication.sendEvent(view.viewport(), event)


def test_a_brush_segment_repaints_its_box_and_the_screen_matches_a_full_repaint(make_window, qtbot):
    window = make_window(scene_image(h=96, w=100, c=3, seed=8))
    window.brush.radius.setValue(1.0)
    window.brush.value.setValue(0.5)
    window.brush.target.setCurrentIndex(1)  # all channels: every input map changes
    settle(window)
    cell = window.input_panel.cells[0]
    view, start = image_to_viewport(cell, 40.5, 20.5)
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    _mouse(view, QtCore.QEvent.Type.MouseButtonPress, start, left)
    qtbot.wait(30)
    for col in (24.5, 28.5):  # the drag starts (its first frame redraws all): not counted
        _, pt = image_to_viewport(cell, 40.5, col)
        _mouse(view, QtCore.QEvent.Type.MouseMove, pt, left)
        qtbot.wait(30)
    assert window.controller.stroking
    panels = [window.input_panel, window.sum_panel, window.filters_panel]
    painted = PaintedArea(panels)
    levels = window.controller.frame.map_levels
    for i in range(1, 6):  # moves far enough apart that none is dropped as too soon
        _, pt = image_to_viewport(cell, 40.5 + i, 28.5 + 5 * i)
        _mouse(view, QtCore.QEvent.Type.MouseMove, pt, left)
        qtbot.wait(30)
    doc = window.controller.doc
    assert (doc.input[45, 52:54] == 0.5).all()  # the stroke reached its last point, painted
    assert window.controller.frame.map_levels == levels  # no map was recoloured whole

    settle(window)  # every segment computed and painted, however slow the machine
    area = dict(painted.area)
    shown = on_screen(window)
    whole = repainted_whole(window)
    assert (shown != whole).sum() == 0  # nothing left stale

    for panel in panels:  # five segments painted far less than five whole panels
        viewport = panel.viewport().rect()
        assert 0 < area[panel] < 5 * viewport.width() * viewport.height() / 4, panel
    _mouse(view, QtCore.QEvent.Type.MouseButtonRelease, pt, none)
