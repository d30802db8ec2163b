"""The undo history is capped in bytes, and a step keeps only what it changed."""

import numpy as np

from convviz.core.commands import PaintCommand
from convviz.core.history import HISTORY_BYTES, History
from convviz.core.model import default_document
from convviz.qt.control.controller import Controller
from convviz.qt.main_window import MainWindow


def _controller(h, w, c, seed=0):
    image = np.random.default_rng(seed).random((h, w, c), dtype=np.float32)
    return Controller(default_document(image))


def test_many_clears_at_512x512x16_stay_under_the_cap_and_say_so(qtbot):
    window = MainWindow(_controller(512, 512, 16))
    qtbot.addWidget(window)
    c = window.controller
    said = []
    c.status.connect(said.append)
    for i in range(24):  # 16 MiB each: 384 MiB of steps if nothing were dropped
        c.fill_channel(-1, float(i % 2 + 1))
        assert c.history.nbytes <= HISTORY_BYTES
    assert c.history.nbytes > HISTORY_BYTES // 2  # what fits is kept
    assert any("can no longer be undone" in s and "256 MiB" in s for s in said)
    assert "256 MiB" in window.statusBar().currentMessage()  # shown where messages go


def test_clear_keeps_one_copy_of_one_channel():
    c = _controller(64, 48, 4)
    before = c.doc.input.copy()
    c.fill_channel(2, 0.0)
    # One float32 copy of channel 3, not two copies of the whole input.
    assert c.history.nbytes == 64 * 48 * 4
    c.undo()
    assert np.array_equal(c.doc.input, before)


def test_undo_redo_restore_exact_arrays_through_loads_fills_and_strokes():
    c = _controller(40, 30, 3)
    saved = [c.doc.input.copy()]
    c.fill_channel(1, 0.5)
    saved.append(c.doc.input.copy())
    c.set_input(np.random.default_rng(5).random((20, 25, 3), dtype=np.float32))
    saved.append(c.doc.input.copy())
    c.begin_stroke(0, 5, 5, radius=2, value=1.0)
    c.stroke_to(8, 12)
    c.end_stroke()
    saved.append(c.doc.input.copy())
    c.fill_channel(-1, 0.0)
    saved.append(c.doc.input.copy())
    for want in reversed(saved[:-1]):
        c.undo()
        assert np.array_equal(c.doc.input, want)
    for want in saved[1:]:
        c.redo()
        assert np.array_equal(c.doc.input, want)
    # Loading a new input keeps the old one only (the document holds the new one).
    assert c.history.nbytes < saved[0].nbytes + saved[2].nbytes + 40 * 30 * 3 * 4


def test_a_partial_stroke_keeps_only_its_box():
    c = _controller(200, 200, 3)
    c.begin_stroke(-1, 100, 100, radius=2, value=1.0)
    c.stroke_to(100, 110)
    c.end_stroke()
    (cmd,) = c.history._done
    rows, cols = cmd.box[:2]
    box_pixels = (rows.stop - rows.start) * (cols.stop - cols.start)
    assert box_pixels < 20 * 20
    assert cmd.nbytes() == box_pixels * 3 * 4  # one copy of the box, not of the input
    assert c.history.nbytes == cmd.nbytes()


def test_a_step_bigger_than_the_cap_is_dropped_with_a_word():
    doc = default_document(np.zeros((32, 32, 1), np.float32))
    h = History(doc, byte_limit=1000)
    said = []
    h.subscribe_notice(said.append)
    h.push(PaintCommand("Fill", (slice(0, 32), slice(0, 32)), None, np.float32(1)))
    assert h.nbytes == 0 and h.undo_label is None
    assert (doc.input == 1).all()
    assert said and "too large to undo" in said[0]


def test_strokes_do_not_keep_the_whole_input_alive():
    import tracemalloc

    c = _controller(256, 256, 8)
    tracemalloc.start()
    try:
        for i in range(10):
            c.begin_stroke(0, 128, 128, radius=2, value=float(i % 2))
            c.stroke_to(128, 135)
            c.end_stroke()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (cmd, *_) = c.history._done
    assert cmd._stash.base is None  # its own small copy, not a view of a full one
    assert held < 2 * c.doc.input.nbytes  # ten full copies if the views kept them
