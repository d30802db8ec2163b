"""Edit-to-screen latency of the real main window (offscreen), for ``convviz.bench --gui``.

One measurement is: perform the edit (kernel and bias values typed into the editor's
cells as keystrokes, brush moves through the controller), let the event loop run the
coalesced recompute, then paint every panel synchronously. That is the time until every
affected panel shows its new image. A 1 ms heartbeat timer runs meanwhile; the longest
gap between its ticks is the longest event-loop stall.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtTest, QtWidgets  # noqa: E402

from convviz.core.model import default_document  # noqa: E402
from convviz.qt.app import configure_pyqtgraph  # noqa: E402
from convviz.qt.controller import Controller  # noqa: E402
from convviz.qt.main_window import MainWindow  # noqa: E402

# (height, width, channels, kernel size, filters)
GUI_CASES = (
    (28, 28, 1, 3, 8),
    (256, 256, 3, 3, 8),
    (256, 256, 3, 7, 8),
    (512, 512, 3, 3, 8),
    (512, 512, 3, 7, 8),
    (1024, 1024, 3, 3, 8),
    (1024, 1024, 3, 7, 8),
    (1024, 1024, 16, 11, 16),
)
KINDS = ("brush move", "kernel edit", "bias edit")


def _window(h, w, c, k, filters):
    configure_pyqtgraph()
    rng = np.random.default_rng(0)
    doc = default_document(rng.random((h, w, c)).astype(np.float32))
    window = MainWindow(Controller(doc), max_side=max(h, w))
    window.resize(1600, 900)
    window.show()
    window.controller.change_settings(filters=filters, kernel_size=(k, k), padding="same")
    _settle(window)
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


def _time(window, action, repeats) -> dict:
    times = []
    beat = _Heartbeat()
    beat.start()
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        _settle(window)
        times.append((time.perf_counter() - start) * 1e3)
    return {
        "median_ms": statistics.median(times),
        "worst_ms": max(times),
        "stall_ms": beat.longest_gap(),
        "repeats": repeats,
    }


def _bench_case(h, w, c, k, filters, repeats) -> dict:
    window = _window(h, w, c, k, filters)
    ctl = window.controller
    row = {"case": f"{h}x{w}x{c} k{k} f{filters}"}
    ctl.begin_stroke(0, h / 2, w / 4, 2.0, 1.0)
    _settle(window)
    row["brush move"] = _time(window, lambda i: ctl.stroke_to(h / 2 + (i % 5), w / 4 + i), repeats)
    ctl.end_stroke()
    _settle(window)
    cell = window.editor.cell(0, 0, 0)
    row["kernel edit"] = _time(window, lambda i: _type(cell, f"{(i % 7 + 1) / 8:.3f}"), repeats)
    bias = window.editor.bias_cell()
    row["bias edit"] = _time(window, lambda i: _type(bias, f"{(i % 5 - 2) / 16:.4f}"), repeats)
    window.close()
    window.deleteLater()
    return row


def bench_gui(cases=GUI_CASES, repeats=15) -> list[dict]:
    """Median, worst and longest event-loop stall per case and kind of edit."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rows = []
    for case in cases:
        rows.append(_bench_case(*case, repeats))
        app.processEvents()
    return rows


def format_gui_table(rows) -> str:
    head = f"{'case':<24}" + "".join(f"{k:>24}" for k in KINDS)
    sub = "median / worst / stall"
    lines = [head, f"{'':<24}" + "".join(f"{sub:>24}" for _ in KINDS)]
    for r in rows:
        cells = "".join(
            f"{r[k]['median_ms']:>10.1f} /{r[k]['worst_ms']:>6.1f} /{r[k]['stall_ms']:>6.1f}"
            for k in KINDS
        )
        lines.append(f"{r['case']:<24}{cells}")
    lines.append("(ms; keystrokes typed into the kernel and bias cells, brush via the controller)")
    return "\n".join(lines)
