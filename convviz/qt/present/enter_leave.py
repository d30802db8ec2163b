"""Entering the presentation view and leaving it, a part of the presentation view: the
window's docks, toolbars, menu bar and status bar are put away and brought back as they
were, the menus' shortcuts kept on, and the window made full screen and back."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class EnterAndLeave:
    """Enter and leave the presentation view (a mixin of
    :class:`~convviz.qt.present.present.PresentationView`)."""

    def enter(self) -> None:
        """Show the presentation view full screen; the normal view's state is kept."""
        if self.active:
            return
        w = self.window_
        self._saved = {
            "state": w.saveState(),
            "window": w.windowState(),
            "shown": [
                bar
                for kind in (QtWidgets.QDockWidget, QtWidgets.QToolBar)
                for bar in w.findChildren(kind)
                if bar.isVisibleTo(w)
            ],
        }
        dock = self._lesson_dock()
        if dock is not None:
            dock.held = True
            dock.changed.connect(self._show_lesson, QtCore.Qt.ConnectionType.UniqueConnection)
        for bar in self._saved["shown"]:
            bar.hide()
        # Menu shortcuts (undo, save, ...) stay on while the menu bar is hidden.
        own = set(w.actions())
        self._added_actions = [a for a in _menu_actions(w.menuBar()) if a not in own]
        w.addActions(self._added_actions)
        w.menuBar().hide()
        w.statusBar().hide()
        self.active = True
        w.central.setCurrentWidget(self)
        self._layout_key = None
        self._fresh = True
        self._show_lesson()
        self.set_text_size(self.text_size)
        w.setWindowState(
            (w.windowState() & ~QtCore.Qt.WindowState.WindowMinimized)
            | QtCore.Qt.WindowState.WindowFullScreen
        )
        self._update()
        self.rebuilt.emit()
        self.setFocus()
        self.modeChanged.emit()

    def leave(self) -> None:
        """Back to the normal view as it was, with what changed meanwhile."""
        if not self.active:
            return
        w, saved = self.window_, self._saved
        self.active = False
        w.central.setCurrentWidget(w.columns)
        for action in self._added_actions:
            w.removeAction(action)
        self._added_actions = []
        w.menuBar().show()
        w.statusBar().show()
        w.restoreState(saved["state"])
        for bar in saved["shown"]:
            bar.show()
        dock = self._lesson_dock()
        if dock is not None:
            dock.held = False
            dock.setVisible(bool(dock.markdown))
        inspector = getattr(w, "inspector", None)
        if inspector is not None and inspector.pinned:
            inspector.arith_dock.show()
        w.setWindowState(saved["window"])
        QtCore.QTimer.singleShot(0, w.fit_panes)
        self.modeChanged.emit()


def _menu_actions(menu_bar: QtWidgets.QMenuBar) -> list[QtGui.QAction]:
    """Every action under the menu bar that has a shortcut."""
    found, menus = [], [a.menu() for a in menu_bar.actions() if a.menu() is not None]
    while menus:
        menu = menus.pop()
        for action in menu.actions():
            if action.menu() is not None:
                menus.append(action.menu())
            elif not action.shortcut().isEmpty():
                found.append(action)
    return found
