"""What the app remembers between runs, and what it must not carry from one scene to the next."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from convviz.core.lessons import LESSONS
from convviz.qt.base import views
from convviz.qt.sessions.manager import install_sessions
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
    menu_action(first.view_menu, "· colour-blind").trigger()
    first.presentation.set_text_size(2)
    first.inspector.numbers_action.setChecked(False)
    first.alpha_action.setChecked(True)
    manager.save_preferences()
    views.set_diverging(views.DIVERGING)  # as a new process starts
    first.presentation.set_text_size(0)

    second = make_window()
    make_manager(second)
    settle(second)
    insp = second.inspector
    assert second.presentation.text_size == 2
    assert not insp.numbers and not insp.numbers_action.isChecked()
    assert second.keep_alpha and second.alpha_action.isChecked()
    assert menu_action(second.view_menu, "· colour-blind").isChecked()
    assert not menu_action(second.view_menu, "· blue-white-red").isChecked()
    assert views.diverging_colormap() is views.diverging_colormap("CET-CBD1")


def test_unknown_preferences_are_skipped(make_window, make_manager, tmp_path, restore_view):
    path = tmp_path / "odd.ini"
    path.write_text(
        "[view]\ncolour_map=rainbow\ntext_size=9\nnumbers=maybe\nkeep_alpha=1\n", encoding="utf-8"
    )
    window = make_window()
    make_manager(window, "odd.ini")
    insp = window.inspector
    assert window.presentation.text_size == 0 and insp.numbers and not window.keep_alpha
    assert views.diverging_colormap() is views.diverging_colormap(views.DIVERGING)


def test_a_relaunch_shows_no_empty_lesson_panel(make_window, make_manager):
    first = make_window()
    manager = make_manager(first)
    manager.open_lesson(0)
    assert manager.dock.isVisible()
    manager.save_preferences()  # the layout, with the lesson dock open, as at a close

    second = make_window()
    again = make_manager(second)
    settle(second)
    assert not again.dock.isVisible()
    assert second.windowTitle() == "convviz — untitled.convviz[*]"


def test_the_title_names_the_lesson_once(window, make_manager):
    manager = make_manager(window)
    manager.open_lesson(0)
    assert (
        window.windowTitle() == f"convviz — lesson 1 of {len(LESSONS)}: One channel, one kernel[*]"
    )


def test_a_session_saved_from_a_lesson_reopens_as_that_lesson(window, make_manager, tmp_path):
    manager = make_manager(window)
    manager.open_lesson(2)
    window.controller.set_kernel_value(0, 0, 0, 0.5)
    settle(window)
    assert manager.save_as(tmp_path / "my lesson 3")
    manager.open_lesson(0)
    assert manager.open_session(tmp_path / "my lesson 3.convviz")
    dock = manager.dock
    assert dock.isVisible() and dock.index == 2
    assert dock.position.text() == f"lesson 3 of {len(LESSONS)}"
    assert dock.previous_button.isEnabled() and dock.next_button.isEnabled()
    assert window.controller.doc.kernel[0, 0, 0, 0] == 0.5
    dock.previous_button.click()
    assert dock.index == 1 and LESSONS[1].title in dock.text.toPlainText()


def test_a_lesson_starts_without_the_last_scenes_pin_mutes_slide_or_preset(
    window, make_manager, qtbot
):
    manager = make_manager(window)
    insp, panel = window.inspector, window.layer_panel
    insp.pin(1, 2, 3)
    insp.set_muted({1})
    insp.anim.active.setChecked(True)
    insp.anim.slider.setValue(5)
    panel.preset.setCurrentText("box blur")
    assert panel.apply_buttons[0].isEnabled()
    settle(window)
    manager.open_lesson(2)  # RGB again: same kernel names, so nothing else resets the mutes
    settle(window)
    assert not insp.pinned and insp.target is None and insp.arithmetic is None
    assert insp.muted == set() and insp.anim.step == -1
    assert panel.preset.currentIndex() == -1 and panel.preset.currentText() == ""
    assert not any(b.isEnabled() for b in panel.apply_buttons)
    frame = window.controller.frame
    np.testing.assert_array_equal(insp.shown.feature_maps, frame.feature_maps)  # whole maps
