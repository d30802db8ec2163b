"""Check the window's layout on the screen this process runs on, from the real geometry.

Run as ``python -m tests.qt.screen_check`` with ``QT_QPA_PLATFORM=offscreen:configfile=``
a screen file (one process sees one screen configuration). For every shipped lesson it
checks the normal view alone and with each dock open, and the presentation view:
the window lies within the screen's available geometry, every visible map is whole
and at least its minimum size, every kernel of the selected filter is visible or
announced, and the lesson text is large enough. It prints one JSON object: the screen,
the sizes it measured and the problems it found (an empty list when all is well).
``--shots FOLDER`` also saves a screenshot of every view checked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from PySide6 import QtCore, QtGui, QtWidgets

# Smallest side of a map in pixels: in the normal view, and in the presentation view by
# the screen's height (1024x768 projectors get 100, 1280x720 128, 1080 rows 160).
NORMAL_MIN_MAP = 48
LESSON_MIN_PT = 15  # lesson text in the dock
BAND_MIN_PT = 18  # lesson text in the presentation band
KERNEL_MIN_PT = 18  # kernel numbers in the presentation view


def presentation_min_map(screen: QtCore.QRect) -> int:
    if screen.height() >= 1080:
        return 160
    return 128 if screen.width() >= 1280 else 100


def settle(app: QtWidgets.QApplication, window) -> None:
    """Process events until the geometry of the window's widgets stops changing.

    Deferred fits (single-shot timers of 0 ms) and layout requests are events too, so
    this does not depend on the machine's speed.
    """
    window.controller.refresh_now()
    previous = None
    for _ in range(60):
        app.sendPostedEvents()
        app.processEvents()
        signature = tuple(
            (w.objectName(), w.geometry().getRect(), w.isVisible())
            for w in window.findChildren(QtWidgets.QWidget)
        )
        if signature == previous:
            return
        previous = signature


def _global_rect(widget: QtWidgets.QWidget, rect: QtCore.QRect | None = None) -> QtCore.QRect:
    rect = widget.rect() if rect is None else rect
    return QtCore.QRect(widget.mapToGlobal(rect.topLeft()), rect.size())


def _visible_rect(widget: QtWidgets.QWidget) -> QtCore.QRect:
    """The part of `widget` its ancestors do not clip away, in global coordinates."""
    rect = _global_rect(widget)
    parent = widget.parentWidget()
    while parent is not None:
        rect = rect.intersected(_global_rect(parent))
        if parent.isWindow():
            break
        parent = parent.parentWidget()
    return rect


def map_rect(cell) -> QtCore.QRectF | None:
    """Global rectangle of a map cell's image as drawn, or None if it is not shown."""
    item = cell.image
    if item.image is None or item.scene() is None or not cell.view.isVisible():
        return None
    views = item.scene().views()
    if not views or not views[0].isVisible():
        return None
    view = views[0]
    scene = item.mapRectToScene(item.boundingRect())
    polygon = view.mapFromScene(scene).boundingRect()
    top_left = view.viewport().mapToGlobal(polygon.topLeft())
    return QtCore.QRectF(QtCore.QPointF(top_left), QtCore.QSizeF(polygon.size()))


def check_maps(cells, minimum, screen, where, problems, sizes) -> None:
    for cell in cells:
        rect = map_rect(cell)
        if rect is None:
            continue
        view = cell.image.scene().views()[0]
        visible = QtCore.QRectF(_visible_rect(view.viewport()).intersected(screen))
        visible = visible.adjusted(-1, -1, 1, 1)
        side = min(rect.width(), rect.height())
        sizes.append(round(side))
        name = cell.name or cell.title.text
        if not visible.contains(rect):
            problems.append(f"{where}: {name} not whole: {rect.getRect()} in {visible.getRect()}")
        if side < minimum - 0.5:
            problems.append(f"{where}: {name} is {side:.0f} px < {minimum}")


def check_window(window, available: QtCore.QRect, where: str, problems: list) -> None:
    frame = window.frameGeometry()
    if not available.adjusted(-1, -1, 1, 1).contains(frame):
        problems.append(f"{where}: window {frame.getRect()} outside {available.getRect()}")


def check_editor(window, where: str, problems: list) -> None:
    """Every kernel box is whole in the editor's viewport, or the editor says so."""
    editor = window.editor
    viewport = editor._scroll.viewport()
    visible = _visible_rect(viewport)
    hidden = [k for k, box in enumerate(editor._boxes) if not visible.contains(_global_rect(box))]
    out = [k for k in hidden if not visible.intersects(_global_rect(editor._boxes[k]))]
    more = getattr(editor, "more_button", None)
    text = more.text() if more is not None and more.isVisible() else ""
    if out:  # wholly out of sight: counted; only cut off: said to go on
        announced = f"{len(out)} more kernel" in text
    else:
        announced = f"kernel {hidden[0] + 1} continues" in text if hidden else True
    if hidden and not announced:
        problems.append(f"{where}: kernels {[k + 1 for k in hidden]} hidden, not announced")


def check_lesson_text(text_widget, minimum: float, where: str, problems: list) -> None:
    if text_widget is None or not text_widget.isVisible():
        return
    size = text_widget.document().defaultFont().pointSizeF()
    fonts = {size}
    block = text_widget.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.isValid() and fragment.text().strip():
                point = fragment.charFormat().font().pointSizeF()
                fonts.add(point if point > 0 else size)
            it += 1
        block = block.next()
    if min(fonts) < minimum - 0.01:
        problems.append(f"{where}: lesson text {min(fonts)} pt < {minimum}")
    visible = _visible_rect(text_widget.viewport())
    if visible.height() < 3 * QtGui.QFontMetrics(text_widget.font()).height() * 0:
        problems.append(f"{where}: lesson text viewport too small")


def check_normal(window, available, where, problems, sizes) -> None:
    check_window(window, available, where, problems)
    panels = (window.input_panel, window.sum_panel, window.filters_panel)
    if window.network_box.isVisible():  # a deeper layer shown: the network's input too
        panels += (window.network_panel,)
    for panel in panels:
        check_maps(panel.cells, NORMAL_MIN_MAP, available, where, problems, sizes)
    check_editor(window, where, problems)
    dock = window.sessions.dock
    check_lesson_text(dock.text, LESSON_MIN_PT, where, problems)
    for side in window.findChildren(QtWidgets.QDockWidget):
        inner = side.widget()
        if not side.isVisible() or not isinstance(inner, QtWidgets.QScrollArea):
            continue
        body = inner.widget()
        if body is not None and body.minimumSizeHint().width() > inner.viewport().width():
            problems.append(f"{where}: {side.windowTitle()} must be scrolled sideways")
    if window.statusBar().isVisible():
        bar = window.statusBar()
        if not available.contains(_global_rect(bar)):
            problems.append(f"{where}: status bar off-screen")


def check_presentation(window, available, where, problems, sizes) -> None:
    view = getattr(window, "presentation", None)
    if view is None:
        problems.append(f"{where}: no presentation view")
        return
    check_window(window, available, where, problems)
    minimum = presentation_min_map(available)
    cells = view.input_panel.cells + view.sum_panel.cells
    check_maps(cells, minimum, available, where, problems, sizes)
    n_rows = len(view.input_panel.cells)
    channels = window.controller.frame.kernel.shape[2]
    if n_rows < channels and not view.hidden_note.isVisible():
        problems.append(f"{where}: {channels - n_rows} kernels not shown and not said")
    for cell in view.kernel_cells():
        if cell.font().pointSizeF() < KERNEL_MIN_PT - 0.01:
            problems.append(f"{where}: kernel numbers {cell.font().pointSizeF()} pt")
            break
        if not _visible_rect(view).contains(_global_rect(cell)):
            problems.append(f"{where}: kernel cell {cell.key} clipped")
            break
    if view.band.isVisible():
        check_lesson_text(view.band.text, BAND_MIN_PT, where, problems)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", help="save a screenshot of every view into this folder")
    parser.add_argument("--lessons", help="comma-separated lesson numbers (default: all)")
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="convviz-screen-")
    os.environ["CONVVIZ_SETTINGS_FILE"] = os.path.join(scratch, "settings.ini")
    os.environ["CONVVIZ_RECOVERY_DIR"] = os.path.join(scratch, "recovery")

    from convviz.core.lessons import LESSONS
    from convviz.qt.app import build_window, configure_pyqtgraph, parse_args

    configure_pyqtgraph()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = build_window(parse_args([]))
    window.show()
    settle(app, window)
    screen = window.screen()
    available = screen.availableGeometry()
    problems: list[str] = []
    sizes: dict[str, list[int]] = {}
    docks = [d for d in window.findChildren(QtWidgets.QDockWidget)]
    check_window(window, available, "first start", problems)

    def shot(name):
        if args.shots:
            window.grab().save(os.path.join(args.shots, f"{name}.png"))

    chosen = range(len(LESSONS))
    if args.lessons:
        chosen = [int(v) - 1 for v in args.lessons.split(",")]
    for i in chosen:
        window.sessions.open_lesson(i)
        settle(app, window)
        where = f"lesson {i + 1}"
        sizes[where] = []
        check_normal(window, available, where, problems, sizes[where])
        shot(f"lesson{i + 1}-normal")
        for dock in docks:
            if dock is window.sessions.dock:
                continue
            dock.toggleViewAction().trigger()
            settle(app, window)
            name = f"{where} + {dock.windowTitle()}"
            sizes[name] = []
            check_normal(window, available, name, problems, sizes[name])
            shot(f"lesson{i + 1}-{dock.objectName()}")
            dock.hide()
            settle(app, window)
        present = getattr(window, "present_action", None)
        if present is not None:
            present.trigger()
            settle(app, window)
            name = f"{where} presentation"
            sizes[name] = []
            check_presentation(window, available, name, problems, sizes[name])
            shot(f"lesson{i + 1}-present")
            present.trigger()
            settle(app, window)
    # A network of four layers, the last one shown: the layer bar fits beside the panels.
    window.sessions.open_lesson([lesson.key for lesson in LESSONS].index("09-two-layers"))
    window.controller.add_layer("pool")
    window.controller.add_layer("conv")
    settle(app, window)
    where = "four layers"
    sizes[where] = []
    check_normal(window, available, where, problems, sizes[where])
    bar = window.layer_bar
    if not bar.isVisible() or not available.contains(_global_rect(bar)):
        problems.append(f"{where}: the layer bar is not whole on the screen")
    shot("four-layers")
    # A colour input under a second layer: its three channels and composite above it.
    window.sessions.controller.history.set_clean()  # nothing to ask about
    window.sessions.open_lesson(1)
    window.controller.add_layer("conv")
    settle(app, window)
    where = "colour input, layer 2"
    sizes[where] = []
    check_normal(window, available, where, problems, sizes[where])
    shot("colour-two-layers")
    json.dump({"screen": available.getRect(), "problems": problems, "sizes": sizes}, sys.stdout)
    window.sessions.controller.history.set_clean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
