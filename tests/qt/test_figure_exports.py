"""File → Export in the real window: every action writes what it says, errors lose nothing."""

import numpy as np
import pytest
from PySide6 import QtWidgets
from PySide6.QtGui import QImage

from convviz.qt.export import exports
from convviz.qt.export.exports import install_exports
from tests.core.test_export import slow_layer
from tests.qt.helpers import settle


@pytest.fixture
def menu(window):
    return install_exports(window)


def answer(monkeypatch, path):
    asked = []

    def fake(parent, caption, start, file_filter):
        asked.append((caption, start, file_filter))
        return (str(path), file_filter)

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", fake)
    return asked


def test_menu_sits_in_file_before_quit(window, menu):
    actions = window.file_menu.actions()
    quit_index = actions.index(window.quit_separator)
    assert actions[quit_index - 1].menu() is menu.menu
    titles = [a.text() for a in menu.menu.actions() if a.text()]
    assert titles[:4] == [
        "Input panel as PNG…",
        "Kernel maps panel as PNG…",
        "All filters as PNG…",
        "Pipeline figure…",
    ]
    assert len(titles) == 7


def test_npy_actions_write_the_documents_arrays(window, menu, monkeypatch, tmp_path):
    c = window.controller
    c.select_filter(1)
    c.set_bias(0.25)
    settle(window)
    doc = c.doc
    maps, out = slow_layer(doc.input, doc.kernel, doc.bias)
    expected = [doc.input, maps[..., 1], out]
    for action, name, want in zip(menu.array_actions, ["in", "km", "fm"], expected, strict=True):
        answer(monkeypatch, tmp_path / name)  # no suffix typed: .npy is added
        action.trigger()
        got = np.load(tmp_path / f"{name}.npy")
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "in.npy"), doc.input)
    assert "Saved" in window.statusBar().currentMessage()


def test_panel_pngs_are_what_the_panel_shows(window, menu, monkeypatch, tmp_path):
    settle(window)
    panels = [window.input_panel, window.sum_panel, window.filters_panel]
    for action, panel in zip(menu.panel_actions, panels, strict=True):
        path = tmp_path / "panel.png"
        answer(monkeypatch, path)
        action.trigger()
        image = QImage(str(path))
        ratio = panel.devicePixelRatioF()
        assert (image.width(), image.height()) == (
            round(panel.width() * ratio),
            round(panel.height() * ratio),
        )
        assert (
            len(
                {
                    image.pixel(x, y)
                    for x in range(0, image.width(), 4)
                    for y in range(0, image.height(), 4)
                }
            )
            > 20
        )


def test_pipeline_figure_uses_the_dialogs_choices(window, menu, monkeypatch, tmp_path):
    seen = {}

    def accept(dialog):
        dialog.scale.setValue(1.0)
        dialog.filters.setValue(2)
        dialog.theme.setCurrentText("dark")
        seen["size"] = dialog.size_label.text()
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(exports.FigureDialog, "exec", accept)
    answer(monkeypatch, tmp_path / "fig.png")
    menu.figure_action.trigger()
    image = QImage(str(tmp_path / "fig.png"))
    assert seen["size"] == f"{image.width()} × {image.height()} px"
    assert image.pixelColor(1, 1).name() == "#1e1f22"
    assert image.height() > 500  # two filter rows


def test_cancelled_dialogs_write_nothing(window, menu, monkeypatch, tmp_path):
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a: ("", ""))
    for action in menu.panel_actions + menu.array_actions:
        action.trigger()
    monkeypatch.setattr(
        exports.FigureDialog, "exec", lambda d: QtWidgets.QDialog.DialogCode.Rejected
    )
    menu.figure_action.trigger()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_target_shows_a_message_and_keeps_working(window, menu, monkeypatch, tmp_path):
    warnings = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text: warnings.append(text)
    )
    answer(monkeypatch, tmp_path / "missing folder" / "fm.npy")
    menu.array_actions[2].trigger()
    assert len(warnings) == 1 and "fm.npy" in warnings[0]
    answer(monkeypatch, tmp_path / "fm.npy")
    menu.array_actions[2].trigger()
    assert (tmp_path / "fm.npy").exists()
