"""Fitting the main window to its room: the middle and right columns split between
the editor or the settings and the maps, side docks given a share of the width, and the
window fitted to the screen (a mixin of :class:`~convviz.qt.main_window.MainWindow`).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

# Height in pixels each row of maps under the kernel editor gets beyond its minimum
# before the editor is shown whole.
MIN_MAP_HEIGHT = 60
# Width of a side dock when it opens: this share of the window, within these bounds; a
# dock of controls gets their width, up to DOCK_CONTROLS_SHARE of the window.
DOCK_SHARE, DOCK_MIN_WIDTH, DOCK_MAX_WIDTH = 0.26, 250, 560
DOCK_CONTROLS_SHARE = 0.4
# Share of the right column, and height in pixels, the filter maps keep above the settings.
STRIP_SHARE, MIN_STRIP_HEIGHT = 0.4, 150
# Many filters take more of the column, so that each map keeps this side in pixels, as
# long as the settings (which scroll) keep SETTINGS_MIN_HEIGHT.
STRIP_MAP_SIDE, SETTINGS_MIN_HEIGHT = 56, 160
# Window size on a first start when the screen has room for it; smaller screens get all
# of their available geometry, maximised.
PREFERRED_SIZE = QtCore.QSize(1600, 900)


class WindowFit:
    """Splits of the columns, widths of the side docks, the window's size on the screen."""

    def _bar(self) -> int:
        """Width of a scroll bar."""
        return self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)

    def fit_panes(self) -> None:
        """Split the middle and right columns for the room and fonts they have now."""
        self._fit_editor()
        self._fit_settings()

    def _fit_editor(self) -> None:
        """Split the middle column between the kernel editor (it scrolls) and the maps
        below (they cannot). In order: the whole editor if the maps keep
        `MIN_MAP_HEIGHT` more than their minimum per row; else the editor's first row of
        kernels if the maps keep their minimum; else what the maps leave, at least a
        sixth. Never more than half the column."""
        total = sum(self.middle.sizes()) or self.height()
        above = self.middle.widget(0).height() - self.editor.height()  # header, margins
        wanted = above + self.editor.sizeHint().height()
        one_row = above + self.editor.one_row_height()
        labels = self.sum_panel.ci.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).height()
        chrome = self.middle.widget(1).height() - self.sum_panel.height()
        tight = total - chrome - int(labels)  # room left with the maps at their minimum
        comfortable = tight - 2 * MIN_MAP_HEIGHT
        top = max(min(wanted, comfortable), min(one_row, tight), total // 6)
        top = min(top, total // 2)
        self.middle.setSizes([top, max(total - top, 1)])

    def _fit_settings(self) -> None:
        """Show the layer settings whole under the filter maps when that leaves the maps
        `STRIP_SHARE` of the column and `MIN_STRIP_HEIGHT`; otherwise the settings scroll."""
        total = sum(self.right.sizes()) or self.height()
        chrome = self.right.widget(1).height() - self._settings_scroll.viewport().height()
        form = self.layer_panel.layout()
        width = self._settings_scroll.viewport().width()
        height = form.heightForWidth(width) if form.hasHeightForWidth() else -1
        wanted = max(height, self.layer_panel.minimumSizeHint().height()) + chrome
        bottom = max(min(wanted, total - max(int(total * STRIP_SHARE), MIN_STRIP_HEIGHT)), 0)
        frame = self.controller.frame
        panel = self.filters_panel
        if frame is not None and panel.width() > 0:
            h, w, n = frame.output_shape
            aspect = h / w if h > 0 and w > 0 else 1.0
            strip_chrome = self.right.widget(0).height() - panel.height()
            lowest = min(bottom, SETTINGS_MIN_HEIGHT)
            while bottom > lowest:
                room = total - bottom - strip_chrome - self.right.handleWidth()
                if panel.best_fit(n, aspect, panel.width(), room)[0] >= STRIP_MAP_SIDE:
                    break
                bottom = max(bottom - 8, lowest)
        self.right.setSizes([max(total - bottom, 1), bottom])

    def addDockWidget(self, area, dock, *args) -> None:
        # Side docks share one column as tabs: a second dock never takes another slice
        # of the width from the maps, and each gets the column's whole height.
        side = [
            d
            for d in self.findChildren(QtWidgets.QDockWidget)
            if d is not dock and self.dockWidgetArea(d) == area and not d.isFloating()
        ]
        super().addDockWidget(area, dock, *args)
        if side and area in (
            QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
            QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
        ):
            self.tabifyDockWidget(side[0], dock)
        # A dock that opens is the tab shown.
        dock.toggleViewAction().toggled.connect(
            lambda on, d=dock: on and QtCore.QTimer.singleShot(0, d.raise_)
        )
        dock.visibilityChanged.connect(
            lambda visible, d=dock: (
                visible and QtCore.QTimer.singleShot(0, lambda: self._fit_dock(d))
            )
        )

    def _fit_dock(self, dock: QtWidgets.QDockWidget, only_shrink: bool = False) -> None:
        """Give a side dock `DOCK_SHARE` of the window, within bounds, so the pipeline
        keeps most of the screen however wide the dock's contents would like to be.
        With `only_shrink` (the window got smaller) a narrower dock keeps its width."""
        area = self.dockWidgetArea(dock)
        sides = (
            QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
            QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
        )
        if dock.isFloating() or area not in sides or not dock.isVisible():
            return
        width = min(max(round(self.width() * DOCK_SHARE), DOCK_MIN_WIDTH), DOCK_MAX_WIDTH)
        inner = dock.widget()
        if isinstance(inner, QtWidgets.QScrollArea) and inner.widget() is not None:
            # Controls that would be cut off get their width.
            needed = inner.widget().minimumSizeHint().width() + self._bar() + 8
            width = max(width, min(needed, round(self.width() * DOCK_CONTROLS_SHARE)))
        if not only_shrink or dock.width() > width:
            self.resizeDocks([dock], [width], QtCore.Qt.Orientation.Horizontal)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() < event.oldSize().width():
            QtCore.QTimer.singleShot(0, self._shrink_docks)

    def _shrink_docks(self) -> None:
        for dock in self.findChildren(QtWidgets.QDockWidget):
            self._fit_dock(dock, only_shrink=True)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.splitter and event.type() == QtCore.QEvent.Type.Resize:
            # The window or a dock changed the room: refit once the layouts settled.
            QtCore.QTimer.singleShot(0, self.fit_panes)
        return super().eventFilter(watched, event)

    # -- fitting the screen ---------------------------------------------------------------
    def _screen_room(self) -> QtCore.QRect:
        """Available geometry of the screen the window is (mostly) on."""
        screen = QtGui.QGuiApplication.screenAt(self.geometry().center()) or self.screen()
        return screen.availableGeometry()

    def _frame_margins(self) -> QtCore.QMargins:
        """The window frame around the client area: measured once the window is shown,
        before that a title bar's height above it."""
        frame, inner = self.frameGeometry(), self.geometry()
        if self.isVisible() and frame != inner:
            return QtCore.QMargins(
                inner.left() - frame.left(),
                inner.top() - frame.top(),
                frame.right() - inner.right(),
                frame.bottom() - inner.bottom(),
            )
        title = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_TitleBarHeight)
        return QtCore.QMargins(0, title, 0, 0)

    def fit_to_screen(self) -> None:
        """A first start: `PREFERRED_SIZE` centred on the screen, or, on a screen with
        less room, all of its available geometry, maximised."""
        room, margins = self._screen_room(), self._frame_margins()
        state = self.windowState() & ~QtCore.Qt.WindowState.WindowMaximized
        frame = QtCore.QRect(QtCore.QPoint(), PREFERRED_SIZE).marginsAdded(margins)
        if frame.width() > room.width() or frame.height() > room.height():
            self.setGeometry(room.marginsRemoved(margins))  # the size when un-maximised
            self.setWindowState(state | QtCore.Qt.WindowState.WindowMaximized)
        else:
            self.setWindowState(state)
            self.resize(PREFERRED_SIZE)
            frame.moveCenter(room.center())
            self.move(frame.topLeft())
        self._check_when_shown = not self.isVisible()

    def keep_on_screen(self) -> None:
        """Clamp a restored geometry to the screen it is on now: a window too large for
        it is fitted as on a first start, one partly off it is moved onto it. Before the
        window is shown its frame is a guess, so it is checked again once shown."""
        self._check_when_shown = not self.isVisible()
        if self.windowState() & (
            QtCore.Qt.WindowState.WindowMaximized | QtCore.Qt.WindowState.WindowFullScreen
        ):
            return  # the platform fits these to the screen
        room = self._screen_room()
        frame = self.geometry().marginsAdded(self._frame_margins())
        if frame.width() > room.width() or frame.height() > room.height():
            self.fit_to_screen()
            return
        x = min(max(frame.left(), room.left()), room.right() + 1 - frame.width())
        y = min(max(frame.top(), room.top()), room.bottom() + 1 - frame.height())
        if (x, y) != (frame.left(), frame.top()):
            self.move(x, y)

    def start_at_size(self, width: int, height: int) -> None:
        """The size asked for on the command line: it wins over fitting the screen."""
        self.setWindowState(self.windowState() & ~QtCore.Qt.WindowState.WindowMaximized)
        self.resize(width, height)
        self._check_when_shown = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_check_when_shown", False):
            self._check_when_shown = False
            QtCore.QTimer.singleShot(0, self.keep_on_screen)  # once the frame is known
