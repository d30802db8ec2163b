"""Edit-to-screen latency of the real main window (offscreen), for ``convviz.bench --gui``.

One measurement is: post the edit as real input events (a mouse move on the input panel
while the left button is held, keystrokes typed into a kernel or bias cell, a wheel
notch over a kernel cell), let the event loop run the coalesced recompute, then let
every panel paint. That is the time until every affected panel shows its new image.
A 1 ms heartbeat timer runs meanwhile; the longest gap between its ticks is the longest
event-loop stall.
"""

from __future__ import annotations

import gc
import os
import statistics
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtTest, QtWidgets  # noqa: E402

from convviz.core.model import default_document  # noqa: E402
from convviz.qt.app import configure_pyqtgraph, freeze_startup_objects  # noqa: E402
from convviz.qt.control.controller import Controller  # noqa: E402
from convviz.qt.main_window import MainWindow  # noqa: E402

# (height, width, channels, kernel size, filters, dilation)
GUI_CASES = (
    (28, 28, 1, 3, 8, 1),
    (256, 256, 3, 3, 8, 1),
    (256, 256, 3, 7, 8, 1),
    (512, 512, 3, 3, 8, 1),
    (512, 512, 3, 7, 8, 1),
    (1024, 1024, 3, 3, 8, 1),
    (1024, 1024, 3, 7, 8, 1),
    (1024, 1024, 16, 11, 16, 1),
    (1024, 1024, 16, 11, 16, 5),
)
KINDS = ("brush move", "all channels", "kernel edit", "nudge", "bias edit")
# "all channels": a brush move with the brush bar's "paints" set to "all channels".
# A network of two Conv2D layers with layer 2 shown: (height, width, channels, layer 1's
# filters); layer 2 is what Layer › Add a Conv2D layer appends (4 filters of 3×3). The
# brush paints the network's input above layer 2's, which is made again per segment.
STACK_CASES = ((64, 64, 3, 2), (256, 256, 3, 8))
# pyqtgraph's scene ignores mouse moves closer together than 1/60 s: wait that long.
MOVE_SPACING_S = 1 / 55


def _window(h, w, c, k, filters, dilation=1):
    configure_pyqtgraph()
    rng = np.random.default_rng(0)
    doc = default_document(rng.random((h, w, c)).astype(np.float32))
    window = MainWindow(Controller(doc), max_side=max(h, w))
    window.resize(1600, 900)
    window.show()
    window.controller.change_settings(
        filters=filters, kernel_size=(k, k), padding="same", dilation=(dilation, dilation)
    )
    _settle(window)
    window.editor.finish_echo()  # the kernel cells the first frame filled in
    freeze_startup_objects()  # as the app does once its window is up
    return window


def _settle(window) -> None:
    """Run the coalesced recompute and the paint events it schedules (one each)."""
    app = QtWidgets.QApplication.instance()
    app.processEvents()  # the refresh timer: recompute and setImage, scheduling paints
    while window.controller.computing:  # a large layer computes on a worker thread
        # Sleep rather than spin: a busy GUI thread would take a core from the worker.
        time.sleep(0.0005)
        app.processEvents()
    app.processEvents()  # the paint events


class _Heartbeat:
    """A 1 ms timer; :meth:`longest_gap` is the longest time it could not tick."""

    def __init__(self):
        self.last = time.perf_counter()
        self.gap = 0.0
        self.timer = QtCore.QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        self.gap = max(self.gap, now - self.last)
        self.last = now

    def skip(self):
        """The time since the last tick was the benchmark's own wait, not a stall."""
        self.last = time.perf_counter()

    def start(self):
        self.last, self.gap = time.perf_counter(), 0.0
        self.timer.start()

    def longest_gap(self) -> float:
        self._tick()
        self.timer.stop()
        return self.gap * 1e3


def _type(cell, text: str) -> None:
    cell.setFocus()
    cell.selectAll()
    QtTest.QTest.keyClicks(cell, text)
    QtTest.QTest.keyClick(cell, QtCore.Qt.Key.Key_Return)


def _wheel(cell, notches: int) -> None:
    pos = QtCore.QPointF(cell.rect().center())
    event = QtGui.QWheelEvent(
        pos, cell.mapToGlobal(pos), QtCore.QPoint(), QtCore.QPoint(0, 120 * notches),
        QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QtWidgets.QApplication.sendEvent(cell, event)


class _Mouse:
    """Left-button drags on the viewport of a map cell's view, as real events."""

    def __init__(self, cell):
        self.cell = cell
        self.view = cell.image.scene().views()[0]
        self.last = 0.0

    def point(self, row: float, col: float) -> QtCore.QPointF:
        scene = self.cell.image.mapToScene(QtCore.QPointF(col, row))
        return QtCore.QPointF(self.view.mapFromScene(scene))

    def send(self, kind, pos: QtCore.QPointF) -> None:
        left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
        button = none if kind == QtCore.QEvent.Type.MouseMove else left
        buttons = none if kind == QtCore.QEvent.Type.MouseButtonRelease else left
        viewport = self.view.viewport()
        event = QtGui.QMouseEvent(
            kind, pos, viewport.mapToGlobal(pos), button, buttons,
            QtCore.Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        QtWidgets.QApplication.sendEvent(viewport, event)
        self.last = time.perf_counter()

    def spaced(self) -> None:
        """Wait (untimed) until a move would not be dropped as too soon."""
        wait = self.last + MOVE_SPACING_S - time.perf_counter()
        if wait > 0:
            time.sleep(wait)


def _time(window, action, repeats, before=None, *, after_pause=True) -> dict:
    if after_pause:  # what the last kind of edit left to settle is done first
        _wait_until(lambda: window.controller.idle)
    times = []
    beat = _Heartbeat()
    beat.start()
    for i in range(repeats):
        if before is not None:
            before()
            beat.skip()
        start = time.perf_counter()
        action(i)
        _settle(window)
        times.append((time.perf_counter() - start) * 1e3)
    return {
        "median_ms": statistics.median(times),
        "worst_ms": max(times),
        "stall_ms": beat.longest_gap(),
        "repeats": repeats,
        "times_ms": [round(t, 1) for t in times],
    }


def _bench_case(h, w, c, k, filters, dilation, repeats, layers=1) -> dict:
    window = _window(h, w, c, k, filters, dilation)
    ctl = window.controller
    row = {"case": f"{h}x{w}x{c} k{k}" + (f" d{dilation}" if dilation > 1 else "") + f" f{filters}"}
    panel = window.input_panel
    if layers > 1:  # the network's input is painted, a deeper layer's kernels edited
        for _ in range(layers - 1):
            ctl.add_layer("conv")
        _settle(window)
        window.editor.finish_echo()
        panel = window.network_panel
        row["case"] += f" + {layers - 1} layer" + ("s" if layers > 2 else "")
    mouse = _Mouse(panel.cells[0])
    row["brush move"] = _drag(window, mouse, h / 2, w / 4, repeats)
    window.brush.target.setCurrentIndex(1)  # the brush bar: paints "all channels"
    row["all channels"] = _drag(window, mouse, h * 3 / 4, w / 4, repeats)
    window.brush.target.setCurrentIndex(0)
    if c > 1 and "all channels" not in (ctl.history.undo_label or ""):
        raise RuntimeError("the benchmark's second drag did not paint every channel")
    cell = window.editor.cell(0, 0, 0)
    row["kernel edit"] = _time(window, lambda i: _type(cell, f"{(i % 7 + 1) / 8:.3f}"), repeats)
    other = window.editor.cell(1, 1, 0)
    row["nudge"] = _time(window, lambda i: _wheel(other, 1 if i % 2 else -1), repeats)
    bias = window.editor.bias_cell()
    row["bias edit"] = _time(window, lambda i: _type(bias, f"{(i % 5 - 2) / 16:.4f}"), repeats)
    _close(window)
    return row


def _drag(window, mouse, row: float, col: float, repeats: int) -> dict:
    """Time the moves of one left-button drag from (row, col) on the mouse's map."""
    ctl = window.controller
    press, move = QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseMove
    start = mouse.point(row, col)
    _wait_until(lambda: ctl.idle)  # the stroke starts after a pause, and goes on without
    mouse.spaced()
    mouse.send(press, start)
    _settle(window)

    def at(i: int) -> QtCore.QPointF:  # 3 screen pixels per move, as a hand moves
        return start + QtCore.QPointF(3 * (i + 2), i % 5)

    mouse.spaced()
    mouse.send(move, start + QtCore.QPointF(3, 0))  # untimed: the drag starts here
    _settle(window)
    moves = lambda i: mouse.send(move, at(i))  # noqa: E731
    times = _time(window, moves, repeats, mouse.spaced, after_pause=False)
    mouse.spaced()
    mouse.send(QtCore.QEvent.Type.MouseButtonRelease, at(repeats))
    _settle(window)
    if ctl.stroking or not (ctl.history.undo_label or "").startswith("Paint"):
        raise RuntimeError("the benchmark's mouse drag did not paint one stroke")
    return times


def _close(window) -> None:
    """Close the window and free it now: the next case must not share the machine with
    it (processEvents alone does not run deferred deletes)."""
    window.close()
    QtWidgets.QApplication.processEvents()  # what closing scheduled runs on a live window
    window.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    gc.unfreeze()
    gc.collect()


def _wait_until(done, beat=None) -> float:
    """Run the event loop (sleeping, so workers keep the cores) until ``done()``;
    the seconds it took."""
    app = QtWidgets.QApplication.instance()
    start = time.perf_counter()
    while not done():
        time.sleep(0.002)
        app.processEvents()
    return time.perf_counter() - start


def bench_stalls(case=GUI_CASES[-2], batches=2) -> dict:
    """The longest event-loop stall while a filter trains (Train pressed until ``batches``
    batches of one step are shown), while a session is saved, and while it is autosaved,
    at ``case``; with the seconds each took."""
    import tempfile

    from convviz.qt.sessions.manager import install_sessions
    from convviz.qt.training.dock import install_training

    window = _window(*case)
    ctl = window.controller
    folder = tempfile.mkdtemp(prefix="convviz-bench-")
    settings = QtCore.QSettings(os.path.join(folder, "s.ini"), QtCore.QSettings.Format.IniFormat)
    sessions = install_sessions(window, settings=settings, recovery_dir=folder)
    panel = install_training(window)
    panel.show()
    panel.steps_per_frame.setValue(1)
    _settle(window)
    result = {"case": "x".join(map(str, case[:3])) + f" k{case[3]} f{case[4]} d{case[5]}"}
    beat = _Heartbeat()
    beat.start()
    panel.train_button.click()
    seconds = _wait_until(lambda: panel.trainer is not None and panel.trainer.steps >= batches)
    panel.train_button.click()
    seconds += _wait_until(lambda: not panel.stepping and not ctl.computing)
    result["training"] = {"stall_ms": beat.longest_gap(), "seconds": seconds, "steps": batches}
    beat.start()
    start = time.perf_counter()
    sessions.save_as(os.path.join(folder, "bench.convviz"), wait=False)
    _wait_until(lambda: not sessions.saver.busy)
    result["save"] = {"stall_ms": beat.longest_gap(), "seconds": time.perf_counter() - start}
    ctl.set_kernel_value(0, 0, 0, 0.25)  # something unsaved to recover
    _settle(window)
    beat.start()
    start = time.perf_counter()
    sessions.autosave_now(wait=False)
    _wait_until(lambda: not sessions.saver.busy)
    result["autosave"] = {"stall_ms": beat.longest_gap(), "seconds": time.perf_counter() - start}
    ctl.undo()  # back to what was saved: closing asks nothing
    _settle(window)
    _close(window)
    return result


def format_stalls(result) -> str:
    parts = []
    for kind in ("training", "save", "autosave"):
        r = result[kind]
        parts.append(f"{kind}: longest stall {r['stall_ms']:.0f} ms over {r['seconds']:.1f} s")
    return f"{result['case']}: " + "; ".join(parts)


def bench_gui(cases=GUI_CASES, repeats=15) -> list[dict]:
    """Median, worst and longest event-loop stall per case and kind of edit."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rows = []
    for case in cases:
        rows.append(_bench_case(*case, repeats))
        app.processEvents()
    return rows


def bench_stack(cases=STACK_CASES, repeats=15) -> list[dict]:
    """:func:`bench_gui` for a network of two layers, layer 2 shown."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rows = []
    for h, w, c, filters in cases:
        rows.append(_bench_case(h, w, c, 3, filters, 1, repeats, layers=2))
        app.processEvents()
    return rows


def format_gui_table(rows) -> str:
    width = 22
    first = max([24, *(len(r["case"]) + 2 for r in rows)])
    head = f"{'case':<{first}}" + "".join(f"{k:>{width}}" for k in KINDS)
    sub = "median/worst/stall"
    lines = [head, f"{'':<{first}}" + "".join(f"{sub:>{width}}" for _ in KINDS)]
    for r in rows:
        cells = "".join(
            f"{r[k]['median_ms']:>9.1f} /{r[k]['worst_ms']:>5.0f} /{r[k]['stall_ms']:>4.0f}"
            for k in KINDS
        )
        lines.append(f"{r['case']:<{first}}{cells}")
    lines.append(
        "(ms; real events: mouse moves on the input panel, keystrokes typed into the kernel "
        "and bias cells, wheel notches over a kernel cell)"
    )
    return "\n".join(lines)
