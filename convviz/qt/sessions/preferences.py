"""Saved preferences, a part of the session manager: the window layout, the brush, and the
View menu's colour map, lesson text size, numbers on cells and keep alpha of the last run."""

from __future__ import annotations

import contextlib
import os

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.qt.base.colour_maps import COLOUR_MAPS


def default_settings() -> QtCore.QSettings:
    """The app's QSettings, or an INI file named by ``CONVVIZ_SETTINGS_FILE`` (tests)."""
    path = os.environ.get("CONVVIZ_SETTINGS_FILE")
    if path:
        return QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings("convviz", "convviz")


class Preferences:
    """Restores the preferences at start and saves them at close (a mixin of
    :class:`~convviz.qt.sessions.manager.SessionManager`)."""

    def restore_preferences(self) -> None:
        s, w = self.settings, self.window
        geometry, state = s.value("window/geometry"), s.value("window/state")
        # Qt refuses a geometry saved on a very different screen; one it takes may still
        # not fit this screen (a laptop last used with a large monitor, now a projector).
        if isinstance(geometry, QtCore.QByteArray) and w.restoreGeometry(geometry):
            w.keep_on_screen()
        elif not w.isVisible():  # a first start; a window already shown keeps its size
            w.fit_to_screen()
        if isinstance(state, QtCore.QByteArray):
            w.restoreState(state)
        for key, box in (("brush/radius", w.brush.radius), ("brush/value", w.brush.value)):
            with contextlib.suppress(TypeError, ValueError):
                value = s.value(key)
                if value is not None:
                    box.setValue(float(value))
        self._restore_view_preferences()

    def save_preferences(self) -> None:
        s, w = self.settings, self.window
        s.setValue("window/geometry", w.saveGeometry())
        s.setValue("window/state", w.saveState())
        s.setValue("brush/radius", w.brush.radius.value())
        s.setValue("brush/value", w.brush.value.value())
        self._save_view_preferences()
        s.sync()

    def _colour_map_actions(self) -> dict:
        """The View menu's colour-map entries by map name (each entry ends in its name)."""
        found = {}
        for action in _menu_actions(self.window.view_menu):
            for name in COLOUR_MAPS:
                if action.isCheckable() and action.text().endswith(f"· {name}"):
                    found[name] = action
        return found

    def _save_view_preferences(self) -> None:
        s, w = self.settings, self.window
        inspector = getattr(w, "inspector", None)
        s.setValue("view/keep_alpha", w.alpha_action.isChecked())
        if inspector is None:
            return
        s.setValue("view/numbers", inspector.numbers_action.isChecked())
        presentation = getattr(w, "presentation", None)
        if presentation is not None:
            s.setValue("view/text_size", int(presentation.text_size))
        chosen = [n for n, a in self._colour_map_actions().items() if a.isChecked()]
        if chosen:
            s.setValue("view/colour_map", chosen[0])

    def _restore_view_preferences(self) -> None:
        """Colour map, lesson text size, numbers on cells and keep alpha of the last run,
        through the setters the menus call; a value this version does not know is skipped."""
        s, w = self.settings, self.window
        # The window layout may show the lesson dock of the last run: no lesson is open yet.
        self.dock.setVisible(bool(self.lesson_text))
        alpha = _flag(s.value("view/keep_alpha"))
        if alpha is not None:
            w.alpha_action.setChecked(alpha)
        inspector = getattr(w, "inspector", None)
        if inspector is None:
            return
        numbers = _flag(s.value("view/numbers"))
        if numbers is not None:
            inspector.numbers_action.setChecked(numbers)
        name = s.value("view/colour_map")
        actions = self._colour_map_actions()
        if name in actions:
            inspector.set_colour_map(name)
            actions[name].setChecked(True)
        presentation = getattr(w, "presentation", None)
        with contextlib.suppress(TypeError, ValueError):
            size = int(s.value("view/text_size"))
            if presentation is not None and size in range(len(presentation.text_sizes)):
                presentation.set_text_size(size)


def _menu_actions(menu: QtWidgets.QMenu) -> list[QtGui.QAction]:
    """Every entry of ``menu`` and of its submenus."""
    found = []
    for action in menu.actions():
        found.append(action)
        if action.menu() is not None:
            found += _menu_actions(action.menu())
    return found


def _flag(value) -> bool | None:
    """A yes/no preference as QSettings returns it (a bool, or "true"/"false" from INI)."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower()) if value is not None else None
