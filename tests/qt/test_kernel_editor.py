import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from convviz.core.numbers import format_number
from convviz.qt.edit.kernel_echo import ECHO_CHUNK
from convviz.qt.edit.kernel_editor import KernelEditor
from convviz.qt.edit.number_cell import weight_text
from tests.qt.helpers import PATIENCE_MS

SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
RGB = ("R", "G", "B")


def sobel_filter():
    return np.stack([SOBEL, SOBEL.T, SOBEL / 9], axis=2).astype(np.float32)


def shown(qtbot, ed):
    qtbot.addWidget(ed)
    ed.show()
    with qtbot.waitActive(ed):
        ed.activateWindow()
    return ed


@pytest.fixture
def editor(qtbot):
    ed = KernelEditor()
    ed.set_filter(sobel_filter(), 0.5, 0, 2, RGB)
    return shown(qtbot, ed)


def edit_signals(ed):
    return [ed.valueEdited, ed.valueNudged, ed.biasEdited, ed.nudgeFinished, ed.errorMessage]


def type_into(qtbot, cell, text):
    cell.setFocus()
    cell.selectAll()
    qtbot.keyClicks(cell, text)
    qtbot.keyClick(cell, Qt.Key.Key_Return)


def wheel(cell, notches=1, modifiers=Qt.KeyboardModifier.NoModifier):
    pos = QPointF(cell.rect().center())
    event = QWheelEvent(
        pos, cell.mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(cell, event)


def mouse(cell, kind, y_offset, buttons=Qt.MouseButton.LeftButton):
    pos = QPointF(cell.rect().center()) + QPointF(0, y_offset)
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else buttons
    if kind == QMouseEvent.Type.MouseButtonRelease:
        buttons = Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind, pos, cell.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(cell, event)


def test_shows_filter(editor):
    assert editor.cell(1, 0, 0).text() == "-2"
    assert editor.cell(0, 0, 2).text() == "-0.111"
    assert editor.bias_cell().text() == "0.5"
    texts = [label.text() for label in editor.findChildren(type(editor._title))]
    assert "Filter 1 of 2 · shape (3, 3, 3)" in texts
    assert "kernel 2 of filter 1 · acts on G" in texts
    assert editor.cell(0, 0, 0).width() >= 56


def test_typed_fraction_emits_value_edited(qtbot, editor):
    with qtbot.waitSignal(editor.valueEdited) as blocker:
        type_into(qtbot, editor.cell(1, 2, 1), "1/9")
    assert blocker.args[:3] == [1, 2, 1]
    assert blocker.args[3] == pytest.approx(1 / 9)
    assert editor.cell(1, 2, 1).text() == "0.111"


def test_rejected_text_restores_old_value(qtbot, editor):
    cell = editor.cell(0, 0, 0)
    with (
        qtbot.assertNotEmitted(editor.valueEdited),
        qtbot.waitSignal(editor.errorMessage) as blocker,
    ):
        type_into(qtbot, cell, "abc")
    assert blocker.args == ["'abc' is not a number: type e.g. -1.5, 1e-3 or 1/9"]
    assert cell.text() == "-1"


def test_focus_out_commits_and_escape_reverts(qtbot, editor):
    cell = editor.cell(0, 0, 0)
    cell.setFocus()
    qtbot.keyClicks(cell, "5")
    qtbot.keyClick(cell, Qt.Key.Key_Escape)
    assert cell.text() == "-1"
    cell.selectAll()
    qtbot.keyClicks(cell, "0,5")
    with qtbot.waitSignal(editor.valueEdited) as blocker:
        editor.cell(0, 1, 0).setFocus()
    assert blocker.args == [0, 0, 0, 0.5]


def test_unchanged_value_emits_nothing(qtbot, editor):
    cell = editor.cell(0, 0, 2)  # -1/9, shown as "-0.111"
    with qtbot.assertNotEmitted(editor.valueEdited):
        cell.setFocus()
        qtbot.keyClick(cell, Qt.Key.Key_Return)  # untouched text: 1/9 must stay 1/9
        type_into(qtbot, editor.cell(0, 0, 0), "-1")


def test_bias_edit_and_hidden_bias(qtbot, editor):
    with qtbot.waitSignal(editor.biasEdited) as blocker:
        type_into(qtbot, editor.bias_cell(), "-2")
    assert blocker.args == [-2.0]
    editor.set_filter(sobel_filter(), None, 0, 2, RGB)
    assert not editor.bias_cell().isVisible()


def test_wheel_nudges_and_accumulates(qtbot, editor):
    cell = editor.cell(0, 2, 0)  # 1
    values = []
    editor.valueNudged.connect(lambda *args: values.append(args))
    with qtbot.waitSignal(editor.nudgeFinished, timeout=PATIENCE_MS):
        wheel(cell)
        wheel(cell)  # no echo from a controller here: the burst still adds up
        wheel(cell, modifiers=Qt.KeyboardModifier.ShiftModifier)
        wheel(cell, -1, modifiers=Qt.KeyboardModifier.ControlModifier)
    assert values == [(0, 2, 0, 1.1), (0, 2, 0, 1.2), (0, 2, 0, 2.2), (0, 2, 0, 2.19)]


def test_page_up_nudges_bias(qtbot, editor):
    editor.bias_cell().setFocus()
    with qtbot.waitSignal(editor.biasEdited) as blocker:
        qtbot.keyClick(editor.bias_cell(), Qt.Key.Key_PageDown)
    assert blocker.args == [0.4]


def test_drag_nudges_until_release(qtbot, editor):
    cell = editor.cell(1, 1, 1)  # 0
    values = []
    editor.valueNudged.connect(lambda *args: values.append(args[3]))
    mouse(cell, QMouseEvent.Type.MouseButtonPress, 0)
    mouse(cell, QMouseEvent.Type.MouseMove, -3)  # within the click tolerance
    assert values == []
    mouse(cell, QMouseEvent.Type.MouseMove, -10)
    mouse(cell, QMouseEvent.Type.MouseMove, -17)
    with qtbot.waitSignal(editor.nudgeFinished, timeout=100):
        mouse(cell, QMouseEvent.Type.MouseButtonRelease, -17)
    assert values == [0.1, 0.2]


def test_click_without_drag_only_focuses(qtbot, editor):
    cell = editor.cell(2, 2, 2)
    with qtbot.assertNotEmitted(editor.valueNudged), qtbot.assertNotEmitted(editor.nudgeFinished):
        qtbot.mouseClick(cell, Qt.MouseButton.LeftButton)
    assert editor.current_cell() == (2, 2, 2)


def test_tab_order_and_arrows(qtbot):
    ed = KernelEditor()
    ed.set_filter(np.zeros((2, 2, 2), np.float32), 0.0, 0, 1, ("a", "b"))
    shown(qtbot, ed)
    ed.cell(0, 0, 0).setFocus()
    order = [ed.current_cell()]
    for _ in range(8):
        qtbot.keyClick(ed.focusWidget(), Qt.Key.Key_Tab)
        order.append(ed.current_cell())
    assert order[:-1] == [(r, c, k) for k in range(2) for r in range(2) for c in range(2)]
    assert ed.focusWidget() is ed.bias_cell() and order[-1] is None
    qtbot.keyClick(ed.bias_cell(), Qt.Key.Key_Backtab)
    assert ed.current_cell() == (1, 1, 1)
    qtbot.keyClick(ed.cell(1, 1, 1), Qt.Key.Key_Up)
    assert ed.current_cell() == (0, 1, 1)
    qtbot.keyClick(ed.cell(0, 1, 1), Qt.Key.Key_Up)
    assert ed.current_cell() == (0, 1, 1)


def test_same_shape_updates_in_place(qtbot, editor):
    cells = [editor.cell(r, c, k) for r in range(3) for c in range(3) for k in range(3)]
    editing = editor.cell(0, 0, 1)
    editing.setFocus()
    editing.selectAll()
    qtbot.keyClicks(editing, "12")
    new = sobel_filter() * 2
    with qtbot.assertNotEmitted(editor.valueEdited), qtbot.assertNotEmitted(editor.valueNudged):
        editor.set_filter(new, 1.0, 1, 2, RGB)
    assert cells == [editor.cell(r, c, k) for r in range(3) for c in range(3) for k in range(3)]
    assert editor.cell(1, 0, 0).text() == "-4"
    assert editor.bias_cell().text() == "1"
    assert editing.text() == "12" and editing.cursorPosition() == 2  # half-typed edit kept
    assert editor.current_cell() == (0, 0, 1)
    assert "kernel 3 of filter 2 · acts on B" in [lab.text() for lab in editor._labels]


def test_new_shape_rebuilds(qtbot, editor):
    old = editor.cell(0, 0, 0)
    with qtbot.assertNotEmitted(editor.valueEdited):
        editor.set_filter(np.ones((5, 2, 1), np.float32), None, 0, 1, ["gray"])
    assert editor.cell(4, 1, 0) is not old
    assert editor.cell(4, 1, 0).text() == "1"
    with pytest.raises(KeyError):
        editor.cell(0, 0, 1)
    with pytest.raises(ValueError, match="channel names"):
        editor.set_filter(np.ones((3, 3, 2), np.float32), None, 0, 1, ["gray"])


def test_tint_is_diverging(qtbot, editor):
    def colour(cell):
        return cell.grab().toImage().pixelColor(4, 4)

    assert colour(editor.cell(1, 1, 0)).name() == "#ffffff"
    assert colour(editor.cell(1, 2, 0)).red() > colour(editor.cell(1, 2, 0)).blue()
    assert colour(editor.cell(1, 0, 0)).blue() > colour(editor.cell(1, 0, 0)).red()
    editor.set_value_range(100.0)  # now everything is nearly white
    assert colour(editor.cell(1, 0, 0)).red() > 240


def test_kernels_out_of_sight_are_announced_and_the_badge_shows_the_next(qtbot):
    ed = KernelEditor()
    ed.set_filter(sobel_filter(), 0.0, 0, 1, RGB)
    shown(qtbot, ed)
    ed.resize(900, 400)  # three kernels side by side
    qtbot.waitUntil(
        lambda: not ed.more_button.isVisible() and ed.hidden_kernels() == [], timeout=PATIENCE_MS
    )
    ed.resize(300, 230)  # one column, room for one kernel
    qtbot.waitUntil(lambda: ed.more_button.isVisible(), timeout=PATIENCE_MS)
    hidden = ed.hidden_kernels()
    assert hidden == [1, 2]
    viewport = ed._scroll.viewport()
    # Kernel 2 may show its top edge: only the kernels wholly out of sight are more.
    in_part = viewport.rect().intersects(
        QRect(ed._boxes[1].mapTo(viewport, QPoint(0, 0)), ed._boxes[1].size())
    )
    assert ed.more_button.text().startswith(f"{1 if in_part else 2} more kernel")
    assert ed.more_button.text().endswith("↓")
    assert viewport.rect().contains(ed.more_button.geometry())  # inside the kernels' view
    first = hidden[0]
    ed.more_button.click()
    qtbot.waitUntil(lambda: first not in ed.hidden_kernels(), timeout=PATIENCE_MS)


def test_a_kernel_only_cut_off_at_the_edge_is_said_to_go_on_not_counted_as_more(qtbot):
    ed = KernelEditor()
    five = np.arange(25, dtype=np.float32).reshape(5, 5, 1) / 10
    ed.set_filter(five, 0.0, 0, 1, ("grey",))
    shown(qtbot, ed)
    ed.resize(300, 150)  # room for a few rows of the one kernel
    qtbot.waitUntil(lambda: ed.more_button.isVisible(), timeout=PATIENCE_MS)
    assert ed.hidden_kernels() == [0]
    assert "more kernel" not in ed.more_button.text()
    assert ed.more_button.text().startswith("kernel 1 continues")


def test_more_kernels_counts_only_those_wholly_out_of_sight(qtbot):
    ed = KernelEditor()
    ed.set_filter(sobel_filter()[:, :, :2], 0.0, 0, 1, RGB[:2])
    shown(qtbot, ed)
    ed.resize(300, 230)  # one column, room for one kernel
    qtbot.waitUntil(lambda: ed.more_button.isVisible(), timeout=PATIENCE_MS)
    viewport = ed._scroll.viewport()
    first = ed._boxes[0]
    bottom = first.mapTo(viewport, QPoint(0, first.height())).y()
    # The first kernel cut off by 4 pixels, the second wholly below: one more kernel.
    ed.resize(ed.width(), ed.height() - (viewport.height() - (bottom - 4)))
    qtbot.waitUntil(lambda: ed.hidden_kernels() == [0, 1], timeout=PATIENCE_MS)
    qtbot.waitUntil(lambda: ed.more_button.text() == "1 more kernel ↓", timeout=PATIENCE_MS)


def test_an_echo_visits_only_the_cells_whose_value_changed(qtbot, editor, monkeypatch):
    # A brush stroke shows the same filter on every frame, a typed value changes one
    # cell: the others are not visited (up to two thousand of them take 10 ms).
    visited = []
    real = type(editor.cell(0, 0, 0)).show_value
    monkeypatch.setattr(
        type(editor.cell(0, 0, 0)), "show_value", lambda c, *a: (visited.append(c), real(c, *a))
    )
    editor.set_filter(sobel_filter(), 0.5, 0, 2, RGB)
    assert visited == []
    editor.set_filter(sobel_filter(), 0.25, 0, 2, RGB)  # only the bias changed
    assert visited == [editor.bias_cell()] and editor.bias_cell().text() == "0.25"
    visited.clear()
    changed = sobel_filter()
    changed[2, 2, 2] = 1.5
    editor.set_filter(changed, 0.25, 0, 2, RGB)
    assert visited == [editor.cell(2, 2, 2)] and editor.cell(2, 2, 2).text() == "1.5"
    visited.clear()
    changed[0, 1, 0] = 4.0  # a new largest value: every tint changes
    editor.set_filter(changed, 0.25, 0, 2, RGB)
    assert len(visited) == 28
    assert [editor.cell(r, c, k).text() for r, c, k in ((0, 1, 0), (1, 0, 0))] == ["4", "-2"]


def test_an_echo_of_the_same_values_still_puts_back_an_edit_the_model_did_not_take(qtbot, editor):
    # Typed text the document refused (nothing applied it): the echo of the unchanged
    # filter must show the document's value again, not the typed one.
    cell = editor.cell(0, 0, 0)
    with qtbot.waitSignal(editor.valueEdited):
        type_into(qtbot, cell, "0.5")
    assert cell.text() == "0.5"
    editor.set_filter(sobel_filter(), 0.5, 0, 2, RGB)
    assert cell.text() == "-1"
    with qtbot.waitSignal(editor.biasEdited):
        type_into(qtbot, editor.bias_cell(), "2")
    editor.set_filter(sobel_filter(), 0.5, 0, 2, RGB)
    assert editor.bias_cell().text() == "0.5"


def big_filter(seed=0):
    return np.random.default_rng(seed).normal(size=(11, 11, 16)).astype(np.float32)


NAMES16 = tuple(f"ch {i + 1}" for i in range(16))


def texts(ed, values):
    wrong = [
        key
        for key in np.ndindex(values.shape)
        if ed.cell(*key).text() != weight_text(float(values[key]))
    ]
    return wrong


def test_an_echo_of_every_cell_of_a_big_filter_is_shown_a_chunk_per_turn(qtbot):
    # A training step changes all 1,936 cells of a 16-channel 11x11 filter: shown at once,
    # they held the window for 60 ms; they are shown ECHO_CHUNK at a time instead, from the
    # next turn on, so the frame that changed them is not held up.
    ed = KernelEditor()
    ed.set_filter(big_filter(0), 0.5, 0, 16, NAMES16)
    shown(qtbot, ed)
    ed.finish_echo()
    assert texts(ed, big_filter(0)) == []
    trained = big_filter(1)
    ed.set_filter(trained, 0.5, 0, 16, NAMES16)
    assert ed.echo_pending == trained.size  # none within the turn that changed them
    qtbot.waitUntil(lambda: ed.echo_pending <= trained.size - ECHO_CHUNK, timeout=PATIENCE_MS)
    assert 0 < len(texts(ed, trained)) < trained.size  # then a chunk per turn
    qtbot.waitUntil(lambda: ed.echo_pending == 0, timeout=PATIENCE_MS)
    assert texts(ed, trained) == []
    # The tooltip says the value shown, though it is only set when asked for.
    key = (10, 10, 15)
    assert ed.cell(*key).toolTip().split("\n")[0].endswith(f"= {format_number(trained[key], 7)}")


def test_a_cell_still_waiting_for_its_value_is_nudged_from_that_value(qtbot):
    ed = KernelEditor()
    ed.set_filter(np.zeros((11, 11, 16), np.float32), 0.0, 0, 16, NAMES16)
    shown(qtbot, ed)
    ed.finish_echo()
    trained = np.full((11, 11, 16), 0.5, np.float32)
    ed.set_filter(trained, 0.0, 0, 16, NAMES16)
    cell = ed.cell(10, 10, 15)  # shown last
    assert cell.text() == "0"  # still waiting
    values = []
    ed.valueNudged.connect(lambda *args: values.append(args))
    wheel(cell)
    assert values == [(10, 10, 15, 0.6)]  # from 0.5, the filter's value, not from 0
    assert cell.text() == "0.5"


def test_a_new_shape_forgets_the_cells_waiting_for_their_value(qtbot):
    ed = KernelEditor()
    ed.set_filter(big_filter(0), 0.5, 0, 16, NAMES16)
    shown(qtbot, ed)
    ed.set_filter(sobel_filter(), 0.5, 0, 2, RGB)
    qtbot.waitUntil(lambda: ed.echo_pending == 0, timeout=PATIENCE_MS)
    assert [ed.cell(r, c, 0).text() for r, c in ((0, 0), (1, 0), (0, 2))] == ["-1", "-2", "1"]
