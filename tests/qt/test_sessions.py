"""Sessions through the real window: menus, save/open, unsaved changes, recent files, lessons."""

import numpy as np
import pytest
from PySide6 import QtCore

from convviz.core.lessons import LESSONS
from convviz.io.session import load_session
from tests.qt.helpers import assert_views_match_model, settle


def edit(window, value=0.75):
    window.controller.set_kernel_value(0, 0, 0, value)
    settle(window)


def test_file_menu_entries_sit_before_quit(window, manager):
    texts = [a.text() for a in window.file_menu.actions()]
    quit_at = texts.index("&Quit")
    for entry in ("Open &session…", "Open &recent session", "&Save session", "Save session &as…"):
        assert texts.index(entry) < quit_at
    assert manager.save_action.shortcut().toString() == "Ctrl+S"
    assert manager.save_as_action.shortcut().toString() == "Ctrl+Shift+S"
    assert manager.open_action.shortcut().toString() == "Ctrl+Shift+O"
    quit_action = window.file_menu.actions()[quit_at]
    assert not quit_action.shortcut().isEmpty()  # shown in the menu, on every platform
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus.index("&Lessons") == menus.index("&Help") - 1


def test_save_and_open_round_trip_through_the_window(window, manager, tmp_path):
    edit(window)
    window.controller.change_settings(filters=3, activation="tanh")
    window.controller.select_filter(2)
    window.brush.radius.setValue(4.5)
    settle(window)
    assert window.isWindowModified()
    saved = window.controller.state()
    assert manager.save_as(tmp_path / "lesson")
    path = tmp_path / "lesson.convviz"
    assert manager.path == path and path.exists()
    assert not window.isWindowModified()
    assert window.windowTitle() == "convviz — lesson.convviz[*]"

    window.controller.new_blank(8, 8, 1)
    window.brush.radius.setValue(1.0)
    manager.answer = "discard"
    assert manager.open_session(path)
    assert manager.asked == ["unsaved"]
    doc = window.controller.doc
    np.testing.assert_array_equal(doc.input, saved["input"])
    np.testing.assert_array_equal(doc.kernel, saved["kernel"])
    assert doc.settings == saved["settings"] and doc.selected_filter == 2
    assert window.brush.radius.value() == 4.5
    assert not window.isWindowModified()
    assert_views_match_model(window)
    # Undo history starts afresh with the opened session.
    assert window.controller.history.undo_label is None


def test_save_without_a_file_asks_for_one(window, manager, tmp_path):
    manager.ask_save_path = lambda title="": str(tmp_path / "asked.convviz")
    edit(window)
    assert manager.save()
    assert load_session(tmp_path / "asked.convviz").state["kernel"][0, 0, 0, 0] == 0.75
    edit(window, 0.5)
    manager.ask_save_path = lambda title="": pytest.fail("must save to the known file")
    assert manager.save()
    assert load_session(tmp_path / "asked.convviz").state["kernel"][0, 0, 0, 0] == 0.5


def test_cancel_keeps_the_document(window, manager, tmp_path):
    other = tmp_path / "other.convviz"
    assert manager.save_as(other)
    edit(window)
    before = window.controller.state()
    manager.answer = "cancel"
    assert not manager.open_session(other)
    np.testing.assert_array_equal(window.controller.doc.kernel, before["kernel"])
    assert window.isWindowModified()


def test_save_answer_saves_before_opening(window, manager, tmp_path):
    first, second = tmp_path / "first.convviz", tmp_path / "second.convviz"
    assert manager.save_as(second)
    assert manager.save_as(first)
    edit(window, 2.5)
    manager.answer = "save"
    assert manager.open_session(second)
    assert load_session(first).state["kernel"][0, 0, 0, 0] == 2.5


def test_close_asks_and_cancel_keeps_the_window(window, manager, qtbot):
    edit(window)
    manager.answer = "cancel"
    window.close()
    assert window.isVisible()
    manager.answer = "discard"
    window.close()
    assert not window.isVisible()


def test_bad_session_warns_and_changes_nothing(window, manager, tmp_path):
    bad = tmp_path / "bad.convviz"
    bad.write_text("not a session")
    edit(window)
    before = window.controller.state()
    manager.answer = "discard"
    assert not manager.open_session(bad)
    assert len(manager.warnings) == 1 and manager.warnings[0].startswith("bad.convviz:")
    np.testing.assert_array_equal(window.controller.doc.kernel, before["kernel"])
    assert window.controller.history.undo_label is not None
    assert manager.path is None


def test_recent_files(window, manager, tmp_path):
    paths = [tmp_path / f"s{i}.convviz" for i in range(10)]
    for p in paths:
        assert manager.save_as(p)
    recent = manager.recent_files()
    assert recent == [str(p) for p in reversed(paths)][:8]
    assert [a.text() for a in manager.recent_menu.actions()] == [p.name for p in paths[::-1][:8]]
    paths[5].unlink()
    assert not manager.open_recent(str(paths[5]))
    assert str(paths[5]) not in manager.recent_files()
    assert "no longer exists" in window.statusBar().currentMessage()
    manager.recent_menu.actions()[-1].trigger()  # s2, the oldest still listed
    assert manager.path == paths[2]


def test_preferences_survive_a_restart(make_window, make_manager):
    first = make_window()
    m = make_manager(first)
    first.brush.radius.setValue(6.5)
    first.brush.value.setValue(0.25)
    first.resize(701, 503)  # within the offscreen 800×600 screen
    QtCore.QCoreApplication.processEvents()
    size = first.size()
    first.close()
    QtCore.QCoreApplication.processEvents()
    assert m.settings.value("brush/radius") is not None
    second = make_window()
    make_manager(second)
    assert second.brush.radius.value() == 6.5
    assert second.brush.value.value() == 0.25
    assert second.size() == size


def test_lessons_menu_opens_each_lesson_and_walks_through(window, manager):
    actions = manager.lessons_menu.actions()
    assert [a.text() for a in actions[: len(LESSONS)]] == [lesson.title for lesson in LESSONS]
    actions[0].trigger()
    settle(window)
    assert manager.dock.isVisible()
    assert "One channel, one kernel" in manager.dock.text.toPlainText()
    assert manager.dock.position.text() == f"lesson 1 of {len(LESSONS)}"
    assert not manager.dock.previous_button.isEnabled()
    for i in range(1, len(LESSONS)):
        manager.dock.next_button.click()
        settle(window)
        assert manager.dock.index == i
        assert LESSONS[i].title in manager.dock.text.toPlainText()
        title = LESSONS[i].title.split(". ", 1)[1]
        assert window.windowTitle() == f"convviz — lesson {i + 1} of {len(LESSONS)}: {title}[*]"
        assert window.controller.doc.settings == LESSONS[i].settings
        assert_views_match_model(window)
    assert not manager.dock.next_button.isEnabled()
    manager.dock.previous_button.click()
    assert manager.dock.index == len(LESSONS) - 2
    # A built-in lesson is never overwritten by Save.
    assert manager.path is None and not window.isWindowModified()


def test_depthwise_lesson_shows_one_kernel_per_filter(window, manager):
    manager.open_lesson(5)
    settle(window)
    doc = window.controller.doc
    assert doc.settings.groups == 3 and doc.kernel.shape == (3, 3, 1, 3)
    for f in range(3):
        window.controller.select_filter(f)
        res = assert_views_match_model(window)
        assert window.controller.frame.kernel_channel_names == (doc.channel_names[f],)
        # Depthwise: feature map f is channel f's kernel map, nothing summed.
        np.testing.assert_allclose(res.feature_maps[..., f], res.kernel_maps_of(f)[..., 0])


def test_save_as_lesson_then_open_shows_the_text(window, manager, tmp_path):
    edit(window)
    manager.ask_lesson_text = lambda initial: "## My lesson\n\nKernels and filters."
    manager.ask_save_path = lambda title="": str(tmp_path / "mine")
    assert manager.save_as_lesson()
    path = tmp_path / "mine.convviz"
    assert load_session(path).lesson == "## My lesson\n\nKernels and filters."
    manager.open_lesson(0)
    assert "My lesson" not in manager.dock.text.toPlainText()
    assert manager.open_session(path)
    assert manager.dock.isVisible() and "Kernels and filters." in manager.dock.text.toPlainText()
    assert manager.dock.index == -1 and manager.dock.next_button.isEnabled()
    # Saving it again keeps its text.
    edit(window, 3.0)
    assert manager.save()
    assert load_session(path).lesson == "## My lesson\n\nKernels and filters."


def test_cancelled_lesson_text_writes_nothing(window, manager, tmp_path):
    manager.ask_lesson_text = lambda initial: None
    manager.ask_save_path = lambda title="": pytest.fail("no path after cancel")
    assert not manager.save_as_lesson()
    assert list(tmp_path.glob("*.convviz")) == []


def test_save_failure_warns_and_keeps_unsaved(window, manager, tmp_path):
    edit(window)
    assert not manager.save_as(tmp_path / "missing-folder" / "x.convviz")
    assert len(manager.warnings) == 1 and "x.convviz" in manager.warnings[0]
    assert window.isWindowModified()
