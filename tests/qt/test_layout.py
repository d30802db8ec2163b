"""The window stays legible at classroom sizes: projector scale, side docks, long texts."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets

from convviz.qt.base.views import MIN_WORD_SCALE, Title
from convviz.qt.sessions.manager import install_sessions
from tests.qt.helpers import settle


def _menu_action(menu, text):
    for action in menu.actions():
        if action.menu() is not None:
            found = _menu_action(action.menu(), text)
            if found is not None:
                return found
        elif action.text() == text:
            return action
    return None


def _settle_layout(window, qtbot):
    """Let the recompute, the deferred fits and the layouts they trigger all run.

    Each is a posted event or a zero-delay timer, so a few passes of the event loop run
    them all, however busy the machine: no wall-clock wait decides when to stop.
    """
    for _ in range(6):
        settle(window)
        QtWidgets.QApplication.sendPostedEvents()
        QtWidgets.QApplication.processEvents()


def _inside(rect, outer, slack=1.0):
    return outer.adjusted(-slack, -slack, slack, slack).contains(rect)


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768)])
def test_an_open_lesson_leaves_the_pipeline_most_of_the_window(window, qtbot, tmp_path, size):
    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    manager = install_sessions(window, settings=settings, recovery_dir=tmp_path / "rec")
    window.resize(*size)
    _settle_layout(window, qtbot)
    assert manager.open_lesson(5)
    _settle_layout(window, qtbot)
    dock = manager.dock
    assert dock.isVisible()
    assert dock.width() <= 0.3 * size[0] + 2
    assert window.splitter.widget(0).width() >= 100  # the input column stays readable
    for cell in window.sum_panel.cells:  # the maps are all drawn
        rect = cell.view.sceneBoundingRect()
        assert min(rect.width(), rect.height()) >= 20, cell.name


def test_a_long_message_wraps_inside_the_sum_panel(window, qtbot):
    window.resize(1280, 720)
    window.controller.set_input(np.zeros((1, 1, 1), np.float32))
    _settle_layout(window, qtbot)
    panel = window.sum_panel
    message = panel.message
    assert "Output is empty" in message.text
    visible = QtCore.QRectF(panel.viewport().rect())
    assert _inside(message.mapRectToScene(message.itemRect()), visible)
    layout = message.item.document().firstBlock().layout()
    assert layout.lineCount() >= 2  # broken onto lines rather than clipped
    for cell in panel.cells:  # the row of maps is not pushed off the panel
        assert _inside(cell.view.sceneBoundingRect(), visible), cell.name


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("kernel 1 on <b>R</b><br>→ kernel map 1", 60.0),
        ("filter 12 → feature map 12", 50.0),
        ("sum + bias<br>(pre-activation 1)", 48.0),  # one word wider than the column
    ],
)
def test_a_title_wider_than_its_column_shrinks_then_breaks_between_words(qtbot, text, width):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    view.resize(400, 300)
    title = Title(text, size="11pt")
    view.ci.addItem(title, row=0, col=0)
    view.ci.layout.setColumnFixedWidth(0, width)
    view.show()
    qtbot.waitExposed(view)
    QtWidgets.QApplication.processEvents()
    assert title.width() == pytest.approx(width, abs=1)
    drawn = title.itemRect()
    assert title.item.scale() >= MIN_WORD_SCALE
    assert drawn.left() >= -0.5 and drawn.right() <= width + 0.5
    assert drawn.bottom() <= title.height() + 0.5
    block = title.item.document().firstBlock()
    while block.isValid():  # lines break between words (or after a hyphen), never inside
        layout, line_text = block.layout(), block.text()
        for i in range(1, layout.lineCount()):
            start = layout.lineAt(i).textStart()
            assert line_text[start - 1] in " -\u2028", (line_text, start)  # or a <br>
        block = block.next()


def test_numbers_on_the_filter_maps_survive_a_resize_that_relays_them_out(window, qtbot):
    """A new window size can rebuild the filter strip without a new frame; the numbers
    drawn over its small maps come back with it."""
    from tests.qt.helpers import shown

    window.controller.change_settings(filters=6)
    _settle_layout(window, qtbot)
    panel = window.filters_panel
    key = panel._key
    pushes = []
    window.controller.frameReady.connect(pushes.append)
    for size in ((1900, 1000), (1000, 700), (1400, 850)):
        window.resize(*size)
        for _ in range(6):  # resizing pushes no frame: only the panel itself reacts
            QtWidgets.QApplication.sendPostedEvents()
            QtWidgets.QApplication.processEvents()
        if panel._key != key:
            break
    assert panel._key != key, "no size changed the strip's layout"
    assert pushes == []
    for cell in panel.cells:
        np.testing.assert_array_equal(cell._inspect_numbers.values, shown(cell))


def test_a_side_dock_shrinks_with_the_window(window, qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    manager = install_sessions(window, settings=settings, recovery_dir=tmp_path / "rec")
    window.resize(1920, 1080)
    _settle_layout(window, qtbot)
    assert manager.open_lesson(2)
    _settle_layout(window, qtbot)
    wide = manager.dock.width()
    window.resize(1024, 768)
    _settle_layout(window, qtbot)
    assert manager.dock.width() < wide
    assert manager.dock.width() <= 0.3 * 1024 + 2
    assert window.splitter.widget(1).width() >= 300  # the middle column keeps its room


def test_a_dock_of_controls_opens_wide_enough_to_show_them(window, qtbot):
    """The Learn-a-kernel dock gets its controls' width (up to 40 % of the window)
    rather than a share that would cut them off behind a scroll bar."""
    from convviz.qt.training.dock import install_training

    panel = install_training(window)
    window.resize(1366, 768)
    _settle_layout(window, qtbot)
    panel.show()
    _settle_layout(window, qtbot)
    body = panel.widget().widget()
    assert panel.widget().viewport().width() >= body.minimumSizeHint().width()
    assert panel.width() <= 0.4 * 1366 + 2


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720)])
def test_with_any_dock_open_every_map_stays_whole_and_every_kernel_reachable(
    window, qtbot, tmp_path, size
):
    """A lesson with three kernels on a projector's size: each dock in turn opens beside
    the lesson; it tabs with it and never squeezes a map under 48 pixels."""
    from convviz.qt.training.dock import install_training
    from tests.qt.screen_check import check_normal

    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    window.training = install_training(window)
    window.sessions = install_sessions(window, settings=settings, recovery_dir=tmp_path / "r")
    window.resize(*size)
    assert window.sessions.open_lesson(1)
    _settle_layout(window, qtbot)
    room = window.frameGeometry()  # the screen, as far as the checks are concerned
    docks = [d for d in window.findChildren(QtWidgets.QDockWidget) if d.isHidden()]
    assert len(docks) >= 5
    for dock in docks:
        dock.toggleViewAction().trigger()
        _settle_layout(window, qtbot)
        problems, sides = [], []
        check_normal(window, room, dock.windowTitle(), problems, sides)
        assert problems == []
        assert len(sides) >= 3 + 1 + 3 + 2 + 1  # inputs, composite, kernel maps, sum, strip
        assert window.size() == QtCore.QSize(*size)  # the minimum sizes fit the screen
        dock.hide()
