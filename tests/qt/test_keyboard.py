"""Editing like a spreadsheet, the keyboard alone, and Qt's conventions."""

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.numbers import format_number
from tests.qt.helpers import settle

Key, Button = QtCore.Qt.Key, QtCore.Qt.MouseButton


def test_a_click_selects_the_value_so_typing_replaces_it(window, qtbot):
    doc = window.controller.doc
    cell = window.editor.cell(0, 0, 0)
    assert cell.text() == "-1" and not cell.hasFocus()
    qtbot.mouseClick(cell, Button.LeftButton)
    assert cell.hasFocus() and cell.selectedText() == "-1"
    qtbot.keyClicks(cell, "3")
    qtbot.keyClick(cell, Key.Key_Return)
    settle(window)
    assert doc.kernel[0, 0, 0, 0] == 3.0
    # A second click in the cell being edited places the cursor, as in a spreadsheet.
    qtbot.mouseClick(cell, Button.LeftButton, pos=QtCore.QPoint(cell.width() - 6, 10))
    assert not cell.hasSelectedText()
    # A double click takes the whole number, sign included, not just the digits.
    other = window.editor.cell(1, 0, 0)
    assert other.text() == "-2"
    qtbot.mouseDClick(other, Button.LeftButton)
    assert other.selectedText() == "-2"
    qtbot.keyClicks(other, "0.5")
    qtbot.keyClick(other, Key.Key_Tab)
    settle(window)
    assert doc.kernel[1, 0, 0, 0] == 0.5


def test_kernel_cells_are_named_and_say_how_to_edit(window):
    editor = window.editor
    cell = editor.cell(0, 2, 1)
    assert cell.accessibleName() == "filter 1, kernel 2 (G), row 1, column 3"
    tip = cell.toolTip()
    assert tip.startswith("filter 1, kernel 2 (G), row 1, column 3 = 1\n")
    assert "Type a number" in tip and "Enter" in tip and "Page Up/Down" in tip
    assert "Type a number" in cell.accessibleDescription()
    assert editor.bias_cell().accessibleName() == "bias of filter 1"
    window.controller.select_filter(1)
    settle(window)
    assert cell.accessibleName() == "filter 2, kernel 2 (G), row 1, column 3"
    value = window.controller.doc.kernel[0, 2, 1, 1]
    assert cell.toolTip().split("\n")[0].endswith(f"= {format_number(value, 7)}")
    assert editor.bias_cell().accessibleName() == "bias of filter 2"


def test_a_burst_of_nudges_does_not_carry_over_to_another_filter(window, qtbot):
    doc = window.controller.doc
    cell = window.editor.cell(1, 1, 0)
    first, second = float(doc.kernel[1, 1, 0, 0]), float(doc.kernel[1, 1, 0, 1])
    cell.setFocus()
    qtbot.keyClick(cell, Key.Key_PageUp)  # +0.1 on filter 1, the wheel-like burst stays open
    settle(window)
    window.controller.select_filter(1)
    settle(window)
    qtbot.keyClick(cell, Key.Key_PageUp)  # +0.1 on filter 2, from filter 2's own value
    settle(window)
    assert np.isclose(doc.kernel[1, 1, 0, 0], first + 0.1)
    assert np.isclose(doc.kernel[1, 1, 0, 1], second + 0.1, atol=1e-6)


def shortcuts(action):
    return [s.toString() for s in action.shortcuts()]


def all_actions(window):
    found = []

    def walk(menu):
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu())
            elif not action.isSeparator():
                found.append(action)

    for top in window.menuBar().actions():
        walk(top.menu())
    return found


def test_standard_shortcuts_are_the_platforms_own(window, tmp_path):
    from convviz.qt.sessions.manager import install_sessions

    settings = QtCore.QSettings(str(tmp_path / "p.ini"), QtCore.QSettings.Format.IniFormat)
    manager = install_sessions(window, settings=settings, recovery_dir=tmp_path / "rec")
    keys = QtGui.QKeySequence.StandardKey
    for action, standard in (
        (manager.save_action, keys.Save),
        (manager.save_as_action, keys.SaveAs),
        (window.redo_action, keys.Redo),
        (window.undo_action, keys.Undo),
    ):
        assert action.shortcuts() == QtGui.QKeySequence.keyBindings(standard)
    # No key sequence starts two actions (Qt would then start neither).
    seen = {}
    for action in all_actions(window):
        for key in shortcuts(action):
            assert key not in seen, f"{key}: {seen.get(key)} and {action.text()}"
            seen[key] = action.text()


def test_next_and_previous_filter_from_the_keyboard(window, qtbot):
    c = window.controller
    c.change_settings(filters=3)
    settle(window)
    assert shortcuts(window.next_filter_action) == ["Alt+Right"]
    assert window.next_filter_action in window.kernels_menu.actions()
    cell = window.editor.cell(0, 0, 0)
    cell.setFocus()  # even from a kernel cell, whose plain arrows move between cells
    qtbot.keyClick(cell, Key.Key_Right, QtCore.Qt.KeyboardModifier.AltModifier)
    settle(window)
    assert c.doc.selected_filter == 1
    assert window.editor._title.text().startswith("Filter 2 of 3")
    qtbot.keyClick(window, Key.Key_Right, QtCore.Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(window, Key.Key_Right, QtCore.Qt.KeyboardModifier.AltModifier)
    settle(window)
    assert c.doc.selected_filter == 0  # wraps around
    qtbot.keyClick(window, Key.Key_Left, QtCore.Qt.KeyboardModifier.AltModifier)
    settle(window)
    assert c.doc.selected_filter == 2
    assert c.history.undo_label == "Change filters"  # selecting is not an edit


def test_pin_a_pixel_move_it_and_read_its_arithmetic_without_a_mouse(window, qtbot):
    insp = window.inspector
    assert shortcuts(insp.pin_action) == ["Ctrl+I"]
    cell = window.editor.cell(0, 0, 0)
    cell.setFocus()
    qtbot.keyClick(cell, Key.Key_I, QtCore.Qt.KeyboardModifier.ControlModifier)
    h_out, w_out, _ = window.controller.frame.output_shape
    assert insp.pinned and insp.target == (0, h_out // 2, w_out // 2)
    assert insp.arith_dock.isVisible()
    assert f"(row {h_out // 2}, col {w_out // 2})" in insp.arith_label.text()
    focus = QtWidgets.QApplication.focusWidget()
    qtbot.keyClick(focus, Key.Key_Right)
    qtbot.keyClick(focus, Key.Key_Down)
    assert insp.target == (0, h_out // 2 + 1, w_out // 2 + 1)
    assert f"(row {h_out // 2 + 1}, col {w_out // 2 + 1})" in insp.arith_label.text()
    assert window.controller.doc.kernel[0, 0, 0, 0] == -1  # the arrows did not edit
    qtbot.keyClick(QtWidgets.QApplication.focusWidget(), Key.Key_Escape)
    assert not insp.pinned
    # Straight after Alt+Right the pin is on the filter just selected, not the last shown.
    window.next_filter_action.trigger()
    insp.pin_action.trigger()
    assert insp.target == (1, h_out // 2, w_out // 2)
    settle(window)
    assert "Feature map 2 at" in insp.arith_label.text()


def test_brush_keys_do_what_the_tooltips_promise(window, qtbot):
    brush = window.brush
    assert "[ and ]" in brush.radius.toolTip() and "(E)" in brush.eraser.toolTip()
    window.setFocus()
    r = brush.radius.value()
    qtbot.keyClick(window, Key.Key_BracketRight)
    assert brush.radius.value() > r
    qtbot.keyClick(window, Key.Key_BracketLeft)
    qtbot.keyClick(window, Key.Key_BracketLeft)
    assert brush.radius.value() < r
    qtbot.keyClick(window, Key.Key_E)
    assert brush.eraser.isChecked() and brush.paint_value() == 0
    qtbot.keyClick(window, Key.Key_E)
    assert not brush.eraser.isChecked()
    # Typing into a kernel cell is not a brush key: "1e-3" stays a number.
    cell = window.editor.cell(0, 1, 0)
    qtbot.mouseClick(cell, Button.LeftButton)
    qtbot.keyClicks(cell, "1e-3")
    qtbot.keyClick(cell, Key.Key_Return)
    settle(window)
    assert window.controller.doc.kernel[0, 1, 0, 0] == np.float32(1e-3)
    assert not brush.eraser.isChecked()


def test_f1_opens_help_that_lists_the_real_keys_and_about_shows_the_version(
    window, qtbot, monkeypatch
):
    from convviz import __version__

    window.setFocus()
    qtbot.keyClick(window, Key.Key_F1)
    dialog = window.help_dialog
    assert dialog.isVisible()
    text = dialog.text.toPlainText()
    for keys, entry in (
        ("Alt+Right", "Kernels › Next filter"),
        ("Ctrl+I", "View › Pin a pixel and show its arithmetic"),
        ("F1", "Help › convviz help"),
        ("Ctrl+Z", "Edit › Undo"),  # named for what it does, not for the last edit
        ("E", "Edit › Brush › Eraser"),
    ):
        assert f"\n{keys}\n{entry}\n" in text
    dialog.close()
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "about", lambda *args: shown.append(args))
    about = window.help_menu.actions()[-1]
    assert about.text() == "&About convviz"
    about.trigger()
    assert len(shown) == 1 and f"convviz {__version__}" in shown[0][2]
