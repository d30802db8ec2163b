"""Editing like a spreadsheet, the keyboard alone, and Qt's conventions."""

import numpy as np
from PySide6 import QtCore

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
