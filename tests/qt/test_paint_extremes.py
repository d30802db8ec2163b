"""No value can crash the window: paint code never raises, whatever the maps hold.

An exception inside a ``paint()``/``paintEvent()`` override kills the process in
PySide6 (it never reaches ``sys.excepthook``), so these tests paint every kind of map and
cell with the values overflowing float32 produces. On code that raises while painting
they do not fail politely: the test process dies.
"""

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

import convviz.qt
from convviz.qt.base import safe_paint
from convviz.qt.export.animation import plan_animation, render_frame
from convviz.qt.export.figure import render_pipeline
from convviz.qt.inspection.overlay import numbers_of
from tests.qt.helpers import settle

# -0.0, float32 denormals, and values near float32's limit (3.4e38): an input may hold
# them. Maps computed from them also hold ±inf and NaN.
FINITE = [-0.0, 1e-40, -1e-45, 1e38, -1e38, 3e38, -3e38]
EXTREMES = [np.inf, -np.inf, np.nan, *FINITE]


def _qt_modules():
    for info in pkgutil.walk_packages(convviz.qt.__path__, "convviz.qt."):
        yield importlib.import_module(info.name)


def test_every_paint_override_is_guarded():
    """Every paint()/paintEvent() written in convviz.qt catches what it raises."""
    checked = []
    for module in _qt_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, base in (
                ("paint", QtWidgets.QGraphicsItem),
                ("paintEvent", QtWidgets.QWidget),
            ):
                if name in vars(cls) and issubclass(cls, base):
                    assert getattr(vars(cls)[name], "never_raises", False), f"{cls}.{name}"
                    checked.append(f"{cls.__name__}.{name}")
    assert {"Numbers.paint", "Overlay.paint", "NumberCell.paintEvent"} <= set(checked)
    assert "MapImageItem.paint" in checked  # colouring (render) runs inside it


def test_a_paint_that_raises_is_caught_logged_once_and_counted(qtbot, caplog, monkeypatch):
    monkeypatch.setattr(safe_paint, "failures", safe_paint.failures.copy())

    class Broken(QtWidgets.QWidget):
        @safe_paint.never_raises
        def paintEvent(self, event):
            raise ZeroDivisionError("drawn badly")

    widget = Broken()
    qtbot.addWidget(widget)
    widget.resize(40, 40)
    widget.grab()
    widget.grab()
    assert safe_paint.failures["Broken.paintEvent"] == 2
    logged = [r for r in caplog.records if "Broken.paintEvent" in r.getMessage()]
    assert len(logged) == 1 and "drawn badly" in logged[0].exc_text


def test_a_failed_item_paint_leaves_the_painter_as_it_found_it(qtbot, monkeypatch):
    monkeypatch.setattr(safe_paint, "failures", safe_paint.failures.copy())
    image = QtGui.QImage(8, 8, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)

    class Item(QtWidgets.QGraphicsRectItem):
        def paint(self, painter, option, widget=None):
            painter.translate(5, 5)
            raise RuntimeError("half drawn")

    safe_paint.never_raises(Item.paint)(Item(), painter, None)
    assert painter.transform().isIdentity()
    painter.end()
    assert safe_paint.failures["Item.paint"] == 1


def test_exponential_of_kernel_value_100_on_a_small_input_with_numbers(make_window, qtbot):
    """The issue's reproduction from the UI alone: exp overflows float32 to inf."""
    window = make_window(np.random.default_rng(0).random((5, 5, 1)).astype(np.float32) + 0.5)
    assert window.inspector.numbers  # numbers on cells are on by default
    window.layer_panel.activation.setCurrentText("exponential")
    cell = window.editor.cell(1, 1, 0)
    cell.setFocus()
    cell.selectAll()
    qtbot.keyClicks(cell, "100")
    qtbot.keyClick(cell, QtCore.Qt.Key.Key_Return)
    settle(window)
    feature = window.controller.frame.feature_maps[..., 0]
    assert np.isinf(feature).any()
    np.testing.assert_array_equal(window.sum_panel.feature._inspect_numbers.values, feature)
    window.grab()  # paints the number "inf" on those pixels


def _extreme_window(make_window):
    """A window whose maps hold every extreme value, with numbers on cells.

    Channel a holds the finite extremes; filter 1 passes them through (its kernel map is
    the input), filter 2 multiplies by 100 (±inf), filter 3 adds +inf and -inf (NaN).
    """
    a = np.array(FINITE + [3e38, -3e38, 0.0, 1.0, -1.0, 0.5, 2.0] * 4 + [1.0], np.float32)
    b = np.linspace(0, 1, 36, dtype=np.float32)
    window = make_window(np.stack([a, b], axis=-1).reshape(6, 6, 2), ["a", "b"])
    c = window.controller
    c.change_settings(filters=3, padding="same")
    state = c.state()
    kernel = np.zeros((3, 3, 2, 3), np.float32)
    kernel[1, 1, 0, 0] = 1
    kernel[1, 1, 0, 1] = 100
    kernel[1, 1, 0, 2] = kernel[1, 2, 0, 2] = 100
    state["kernel"] = kernel
    c.open_state(state)
    settle(window)
    return window


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_kind_of_map_and_cell_paints_extreme_values(make_window, qtbot):
    window = _extreme_window(make_window)
    c = window.controller
    insp = window.inspector
    assert np.signbit(window.input_panel.cells[0].data.ravel()[0])  # -0.0 on an input
    passed = c.frame.kernel_maps[..., 0].ravel()[: len(FINITE)]  # filter 1: the input
    np.testing.assert_array_equal(passed, np.array(FINITE, np.float32))
    assert 0 < abs(passed[1]) < np.finfo(np.float32).tiny  # a denormal in a kernel map
    for activation in ("linear", "exponential", "relu"):
        c.change_settings(activation=activation)
        for f in range(3):
            c.select_filter(f)
            settle(window)
            window.grab()
    # Filter 3 adds an overflowing product to one of the other sign: inf + -inf is NaN,
    # or inf where the matrix product fuses the multiply and add (which one depends on
    # the CPU's BLAS kernel); either way the map holds values beyond float32.
    assert not np.isfinite(c.frame.kernel_maps).all()
    assert np.isinf(c.frame.feature_maps).any()
    # Numbers on cells of every map kind, padding ghosts included.
    for cell in window.input_panel.cells + window.sum_panel.cells + window.filters_panel.cells:
        numbers_of(cell).set_values(np.array(EXTREMES, np.float32).reshape(2, 5), (-1, 1), None)
    window.grab()
    # The arithmetic dock of a pixel reading +inf and -inf, and the sliding window.
    insp.pin(2, 0, 0)
    insp.arith_dock.show()
    insp.anim_dock.show()
    insp.anim.step_by(7)
    settle(window)
    window.grab()
    insp.anim.active.setChecked(False)
    # Colour bars at the largest levels float32 allows.
    for levels in ((-3e38, 3e38), (-1e-40, 1e-40)):
        window.sum_panel.feature.set_image(
            np.array(EXTREMES, np.float32).reshape(2, 5), levels, None
        )
        window.sum_panel.grab()
    # Kernel editor cells and the bias cell showing extreme values.
    editor = window.editor
    for v in EXTREMES:
        for vmax in (1.0, 3e38, np.inf, np.nan, 0.0):
            editor.cell(0, 0, 0).show_value(v, vmax)
            editor.bias_cell().show_value(v, vmax)
            editor.grab()
    # The pipeline figure and the animation export of the same layer.
    state = c.state()
    figure = render_pipeline(state, filters=3)
    assert not figure.isNull()
    plan = plan_animation(state)
    render_frame(plan, plan.steps[len(plan.steps) // 2])


@pytest.mark.parametrize("value", [3e38, -3e38, 1e38])
def test_screenshot_of_an_array_near_float32s_limit(tmp_path, value):
    """``convviz FILE --screenshot`` on a 4×4 .npy full of 3e38 used to end in SIGSEGV."""
    array = tmp_path / "big.npy"
    np.save(array, np.full((4, 4), value, np.float32))
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "convviz",
            str(array),
            "--screenshot",
            str(out),
            "--size",
            "1280x720",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert QtGui.QImage(str(out)).size() == QtCore.QSize(1280, 720)
    assert "drawing" not in run.stderr  # no paint failed, even quietly
