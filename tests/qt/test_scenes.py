"""What the app remembers between runs, and what it must not carry from one scene to the next."""

import pytest
from PySide6 import QtCore, QtWidgets

from convviz.qt import views
from convviz.qt.sessions import install_sessions
from tests.qt.helpers import settle


@pytest.fixture
def make_manager(tmp_path):
    def make(window, name="prefs.ini"):
        settings = QtCore.QSettings(str(tmp_path / name), QtCore.QSettings.Format.IniFormat)
        m = install_sessions(window, settings=settings, recovery_dir=tmp_path / "recovery")
        m.warnings = []
        m.ask_unsaved = lambda: "discard"
        m.warn = lambda title, text: m.warnings.append(text)
        return m

    return make


@pytest.fixture
def restore_view():
    """Colour map and font are application-wide: put them back for the next test."""
    font = QtWidgets.QApplication.font()
    yield
    views.set_diverging(views.DIVERGING)
    QtWidgets.QApplication.setFont(font)


def menu_action(menu, text):
    for action in menu.actions():
        if action.menu() is not None:
            found = menu_action(action.menu(), text)
            if found is not None:
                return found
        elif action.text().endswith(text):
            return action
    return None


def test_view_preferences_are_remembered_between_runs(make_window, make_manager, restore_view):
    first = make_window()
    manager = make_manager(first)
    menu_action(first.view_menu, "· CET-CBD1").trigger()
    menu_action(first.view_menu, "150%").trigger()
    first.inspector.numbers_action.setChecked(False)
    first.alpha_action.setChecked(True)
    manager.save_preferences()
    views.set_diverging(views.DIVERGING)  # as a new process starts
    first.inspector.set_scale(1.0)

    second = make_window()
    make_manager(second)
    settle(second)
    insp = second.inspector
    assert insp.scale == 1.5 and menu_action(second.view_menu, "150%").isChecked()
    assert not insp.numbers and not insp.numbers_action.isChecked()
    assert second.keep_alpha and second.alpha_action.isChecked()
    assert menu_action(second.view_menu, "· CET-CBD1").isChecked()
    assert not menu_action(second.view_menu, "· CET-D1A").isChecked()
    assert views.diverging_colormap() is views.diverging_colormap("CET-CBD1")


def test_unknown_preferences_are_skipped(make_window, make_manager, tmp_path, restore_view):
    path = tmp_path / "odd.ini"
    path.write_text(
        "[view]\ncolour_map=rainbow\nscale=9\nnumbers=maybe\nkeep_alpha=1\n", encoding="utf-8"
    )
    window = make_window()
    make_manager(window, "odd.ini")
    insp = window.inspector
    assert insp.scale == 1.0 and insp.numbers and not window.keep_alpha
    assert views.diverging_colormap() is views.diverging_colormap(views.DIVERGING)
