"""Edit-to-screen latency of the real main window (offscreen), for ``convviz.bench --gui``.

One measurement is: perform the edit through the controller, let the event loop run the
coalesced recompute, then paint every panel synchronously. That is the time until every
affected panel shows its new image.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets  # noqa: E402

from convviz.core.model import default_document  # noqa: E402
from convviz.qt.app import configure_pyqtgraph  # noqa: E402
from convviz.qt.controller import Controller  # noqa: E402
from convviz.qt.main_window import MainWindow  # noqa: E402

GUI_CASES = ((28, 28, 1), (256, 256, 3), (512, 512, 3), (1024, 1024, 3))
KERNELS = (3, 7)
FILTERS = 8


def _window(h, w, c, k):
    configure_pyqtgraph()
    rng = np.random.default_rng(0)
    doc = default_document(rng.random((h, w, c)).astype(np.float32))
    window = MainWindow(Controller(doc), max_side=max(h, w))
    window.resize(1600, 900)
    window.show()
    window.controller.change_settings(filters=FILTERS, kernel_size=(k, k), padding="same")
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


def _time(window, action, repeats) -> dict:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        _settle(window)
        times.append((time.perf_counter() - start) * 1e3)
    return {
        "median_ms": statistics.median(times),
        "p95_ms": float(np.percentile(times, 95)),
        "repeats": repeats,
    }


def _bench_case(h, w, c, k, repeats) -> dict:
    window = _window(h, w, c, k)
    ctl = window.controller
    rng = np.random.default_rng(1)
    few = max(3, repeats // 3)
    row = {"case": f"{h}x{w}x{c} k{k} f{FILTERS}"}
    row["kernel value"] = _time(
        window, lambda i: ctl.set_kernel_value(0, 0, 0, float(i % 7) / 7), repeats
    )
    ctl.begin_stroke(0, h / 2, w / 4, 2.0, 1.0)
    _settle(window)
    row["brush segment"] = _time(
        window, lambda i: ctl.stroke_to(h / 2 + (i % 5), w / 4 + i), repeats
    )
    ctl.end_stroke()
    row["filters count"] = _time(
        window, lambda i: ctl.change_settings(filters=FILTERS - 1 + i % 2), few
    )
    images = [rng.random((h, w, c)).astype(np.float32) for _ in range(2)]
    row["load input"] = _time(window, lambda i: ctl.set_input(images[i % 2]), few)
    window.close()
    window.deleteLater()
    return row


def bench_gui(cases=GUI_CASES, kernels=KERNELS, repeats=15) -> list[dict]:
    """Median and 95th percentile edit-to-screen times per case and kind of edit."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rows = []
    for h, w, c in cases:
        for k in kernels:
            rows.append(_bench_case(h, w, c, k, repeats))
            app.processEvents()
    return rows


def format_gui_table(rows) -> str:
    kinds = ("kernel value", "brush segment", "filters count", "load input")
    head = f"{'case':<24}" + "".join(f"{k:>22}" for k in kinds)
    lines = [head, f"{'':<24}" + "".join(f"{'median / p95 ms':>22}" for _ in kinds)]
    for r in rows:
        cells = "".join(f"{r[k]['median_ms']:>13.1f} / {r[k]['p95_ms']:<6.1f}" for k in kinds)
        lines.append(f"{r['case']:<24}{cells}")
    return "\n".join(lines)
