"""The presentation view: the selected filter's pipeline as one diagram for the back row.

*View › Present* (F5) or ``--present`` puts this view in place of the window's columns,
full screen, with the menus, toolbar, status bar and docks out of the way; Esc or F5
brings them back as they were. The diagram reads left to right, one row per kernel:
input channel ∗ kernel = kernel map, the kernel maps joined by "+", then + bias =
pre-activation → activation → feature map (see :mod:`convviz.qt.present.layout`). Its
maps take the room; the text grows with the screen, never below `TEXT_POINTS` for the
kernel numbers and the lesson. Painting, editing kernel numbers, hovering and pinning
work as in the normal view; frames arrive through ``MainWindow.show_frame``, so muted
kernels and the sliding window show here too.

:class:`PresentationView` is made of parts, one module each: what the diagram shows
(:mod:`~convviz.qt.present.contents`), sizing and placing its pieces
(:mod:`~convviz.qt.present.placement`) and entering and leaving the view
(:mod:`~convviz.qt.present.enter_leave`); the pieces are in :mod:`~convviz.qt.present.parts`.

Keys in the presentation view:

- Page Down / Page Up: next / previous lesson (a presenter's clicker), even while a
  kernel cell has the focus: the clicker never nudges a number by accident (the wheel,
  a drag or typing still edit it).
- F / Shift+F, 1 to 9: next / previous filter, filter n.
- Space, arrows: the sliding window and the pinned pixel, as in the normal view.
- Ctrl++ / Ctrl+−: larger / smaller lesson text (the maps keep their size).
- Esc: unpin the pixel first, then leave.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.qt.present.contents import Contents
from convviz.qt.present.enter_leave import EnterAndLeave
from convviz.qt.present.layout import Plan
from convviz.qt.present.parts import (
    NOTE,
    ControlStrip,
    Diagram,
    LessonBand,
    MapCanvas,
    _label,
)
from convviz.qt.present.placement import (
    LABEL_POINTS,
    NOTE_POINTS,
    TEXT_POINTS,
    TEXT_SIZES,
    TITLE_POINTS,
    Placement,
)
from convviz.qt.sessions.lesson_dock import LessonDock


class _Cells:
    """The map cells of one kind, as the inspector's overlays find them on a panel."""

    def __init__(self):
        self.cells: list = []


class PresentationView(Contents, Placement, EnterAndLeave, QtWidgets.QWidget):
    """The presentation view of `window` (a MainWindow); :func:`install_presentation`
    makes it. ``active`` while it is shown."""

    pixelHovered = QtCore.Signal(object, int, int)
    pixelClicked = QtCore.Signal(object, int, int)
    rebuilt = QtCore.Signal()  # new cells outside a frame: overlays must be redrawn
    modeChanged = QtCore.Signal()  # entered, left, or the window's full screen changed

    def __init__(self, window):
        super().__init__()
        self.window_ = window
        self.controller = window.controller
        self.active = False
        self.frame = None
        self.text_size = 0  # index into TEXT_SIZES
        self.text_sizes = TEXT_SIZES  # what a saved preference may choose from
        self.plan: Plan | None = None
        self.input_panel, self.sum_panel, self.filters_panel = _Cells(), _Cells(), _Cells()
        self._rows: list[tuple] = []  # (input canvas, ∗, kernel grid, =, kernel-map canvas)
        self._layout_key = None
        self._rows_key = None
        self._fresh = True  # new canvases: the next frame redraws every map
        self._hover_text = ""
        self._inspection = None
        self._saved = None
        self._added_actions: list[QtGui.QAction] = []
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)

        self.strip = ControlStrip(self)
        self.diagram = Diagram(self)
        self.band = LessonBand(self)
        self.band.stepRequested.connect(self.step_lesson)
        self.pre = MapCanvas(-1, title_points=TITLE_POINTS)
        self.feature = MapCanvas(-2, colorbar=True, title_points=TITLE_POINTS)
        self.sum_label = _label(self.diagram, LABEL_POINTS)
        self.act_label = _label(self.diagram, LABEL_POINTS)
        self.hidden_note = _label(self.diagram, NOTE_POINTS, NOTE)
        self.hidden_note.setWordWrap(True)
        self.hidden_note.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
        self.pluses: list[QtWidgets.QLabel] = []
        for canvas in (self.pre, self.feature):
            canvas.setParent(self.diagram)
            self._connect_map(canvas)
        self.message_timer = QtCore.QTimer(self, singleShot=True)
        self.message_timer.timeout.connect(lambda: self.strip.message.setText(""))

        s = self.strip
        s.previous_filter.clicked.connect(lambda: self.step_filter(-1))
        s.next_filter.clicked.connect(lambda: self.step_filter(1))
        s.play.clicked.connect(self._toggle_play)
        s.smaller.clicked.connect(lambda: self.set_text_size(self.text_size - 1))
        s.larger.clicked.connect(lambda: self.set_text_size(self.text_size + 1))
        s.leave.clicked.connect(self.leave)
        for key, delta in ((QtCore.Qt.Key.Key_PageDown, 1), (QtCore.Qt.Key.Key_PageUp, -1)):
            # A shortcut, so that it wins over a focused kernel cell's Page keys.
            action = QtGui.QAction(self)
            action.setShortcut(QtGui.QKeySequence(key))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, d=delta: self.step_lesson(d))
            self.addAction(action)  # active only while this view is shown
        window.installEventFilter(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.active and self.frame is not None:
            self._update()
            self.rebuilt.emit()

    # -- lessons, filters, text size -------------------------------------------------------
    def _lesson_dock(self) -> LessonDock | None:
        return self.window_.findChild(LessonDock)

    def _show_lesson(self) -> None:
        dock = self._lesson_dock()
        if dock is None:
            self.band.show_lesson(None, "", False, False)
            return
        self.band.show_lesson(
            dock.markdown,
            dock.position.text(),
            dock.previous_button.isEnabled(),
            dock.next_button.isEnabled(),
        )

    def step_lesson(self, delta: int) -> None:
        """Previous (-1) or next (+1) lesson, as the lesson dock's buttons."""
        dock = self._lesson_dock()
        if not self.active or dock is None:
            return
        button = dock.next_button if delta > 0 else dock.previous_button
        if button.isEnabled():
            dock.stepRequested.emit(delta)

    def step_filter(self, delta: int) -> None:
        frame = self.frame
        if frame is not None and 0 <= frame.selected + delta < frame.filters:
            self.controller.select_filter(frame.selected + delta)

    def set_text_size(self, index: int) -> None:
        """Lesson text size, one of `TEXT_SIZES`: the band's text, never the maps."""
        self.text_size = min(max(index, 0), len(TEXT_SIZES) - 1)
        s = self.scale()
        self.band.set_points(TEXT_POINTS * s * TEXT_SIZES[self.text_size], TITLE_POINTS * s)

    def _toggle_play(self) -> None:
        inspector = getattr(self.window_, "inspector", None)
        if inspector is not None:
            inspector.anim.toggle()
        self._show_playing()

    def _show_playing(self) -> None:
        inspector = getattr(self.window_, "inspector", None)
        playing = inspector is not None and inspector.anim.play.isChecked()
        with QtCore.QSignalBlocker(self.strip.play):
            self.strip.play.setChecked(playing)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key, k = event.key(), QtCore.Qt.Key
        if key == k.Key_F:
            shift = event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier
            self.step_filter(-1 if shift else 1)
        elif int(k.Key_1) <= int(key) <= int(k.Key_9) and self.frame is not None:
            f = int(key) - int(k.Key_1)
            if f < self.frame.filters:
                self.controller.select_filter(f)
        else:
            super().keyPressEvent(event)  # ignored: on to the window (Space, arrows, Esc)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window_ and event.type() == QtCore.QEvent.Type.WindowStateChange:
            self.modeChanged.emit()
        return False


def install_presentation(window) -> PresentationView:
    """Add the presentation view and its View menu entries to `window`; return the view.

    The entries: Present (F5), Full screen (the platform's key and F11), larger and
    smaller presentation text (the platform's zoom keys). They stay on the window while
    the presentation hides the menu bar.
    """
    view = PresentationView(window)
    window.central.addWidget(view)
    menu = window.view_menu
    first = menu.actions()[0] if menu.actions() else None

    def add(text, slot, keys, checkable=False) -> QtGui.QAction:
        action = QtGui.QAction(text, window)
        action.setShortcuts(keys)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        menu.insertAction(first, action)
        window.addAction(action)
        return action

    present = add(
        "Present (the selected filter, full screen)",
        lambda on: view.enter() if on else view.leave(),
        [QtGui.QKeySequence("F5")],
        checkable=True,
    )
    full_keys = QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.FullScreen)
    if QtGui.QKeySequence("F11") not in full_keys:
        full_keys.append(QtGui.QKeySequence("F11"))
    full = add("Full screen", lambda on: _set_full_screen(window, on), full_keys, True)
    larger = add(
        "Larger presentation text",
        lambda: _step_text(window, view, 1),
        QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.ZoomIn),
    )
    smaller = add(
        "Smaller presentation text",
        lambda: _step_text(window, view, -1),
        QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.ZoomOut),
    )
    menu.insertSeparator(first)

    def sync() -> None:
        for action, on in ((present, view.active), (full, window.isFullScreen())):
            with QtCore.QSignalBlocker(action):
                action.setChecked(on)

    view.modeChanged.connect(sync)
    window.present_action, window.full_screen_action = present, full
    window.larger_text_action, window.smaller_text_action = larger, smaller
    window.statusBar().messageChanged.connect(view.show_message)
    inspector = getattr(window, "inspector", None)
    if inspector is not None:
        inspector.add_view(view)
    # The frame the window shows now; later ones come through MainWindow.show_frame.
    view.frame = getattr(inspector, "shown", None) or window.controller.frame
    return view


def _set_full_screen(window, on: bool) -> None:
    state = window.windowState()
    full = QtCore.Qt.WindowState.WindowFullScreen
    window.setWindowState(state | full if on else state & ~full)


def _step_text(window, view: PresentationView, delta: int) -> None:
    view.set_text_size(view.text_size + delta)
    if not view.active:
        size = TEXT_SIZES[view.text_size]
        window.show_message(f"Presentation text {size:.0%} (View › Present, F5, shows it)")
