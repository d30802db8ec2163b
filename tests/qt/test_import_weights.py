"""File → Import weights and dropped model files, driven through the real window."""

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from convviz import conv2d, load_weights
from convviz.io.model_weights import ConvLayer
from convviz.qt.export.import_weights import LayerChooser, channel_choices, converted_input
from tests.qt.helpers import assert_views_match_model, settle

pytest.importorskip("h5py")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "weights"
EXPECTED = dict(np.load(FIXTURES / "expected.npz", allow_pickle=False))


@pytest.fixture
def answers(window, monkeypatch):
    """The teacher's answers to the import's questions, and the warnings shown."""
    given = dict(path=None, layer=None, channels=None, warnings=[], asked=[])
    imp = window.weights_import

    def choose(weights):
        given["listed"] = [layer.name for layer in weights]
        return next((layer for layer in weights if layer.name == given["layer"]), None)

    def ask_channels(layer, choices):
        given["asked"].append(choices)
        return given["channels"]

    monkeypatch.setattr(imp, "ask_path", lambda: str(given["path"] or ""))
    monkeypatch.setattr(imp, "choose_layer", choose)
    monkeypatch.setattr(imp, "ask_channels", ask_channels)
    monkeypatch.setattr(imp, "warn", lambda title, text: given["warnings"].append(text))
    return given


def test_the_menu_imports_a_keras_layer_that_computes_what_keras_computed(window, answers):
    ctl = window.controller
    x, y = EXPECTED["keras_sequential/edges/x"], EXPECTED["keras_sequential/edges/y"]
    ctl.set_input(x)
    answers.update(path=FIXTURES / "keras_sequential.keras", layer="edges")
    assert window.weights_import.action in window.file_menu.actions()
    window.weights_import.action.trigger()
    assert answers["listed"] == ["edges", "grouped", "depthwise"]
    doc = ctl.doc
    s = doc.settings
    assert (s.kernel_size, s.filters, s.strides, s.padding, s.activation) == (
        (3, 3),
        4,
        (2, 2),
        "same",
        "relu",
    )
    res = assert_views_match_model(window)
    np.testing.assert_allclose(res.feature_maps, y, rtol=1e-5, atol=1e-6)
    shown = np.stack([c.image.image for c in window.filters_panel.cells], axis=-1)
    np.testing.assert_allclose(shown, y, rtol=1e-5, atol=1e-6)
    assert window.undo_action.text() == "Undo Import layer edges from keras_sequential.keras"
    assert answers["warnings"] == [] and answers["asked"] == []


def test_one_undo_takes_back_the_layer_and_the_converted_input(window, answers):
    ctl = window.controller
    before = ctl.state()
    answers.update(path=FIXTURES / "keras_functional.keras", layer="inner", channels="grey")
    assert window.weights_import.import_dialog()
    # The layer reads one channel, the input had R, G, B: asked, and made grey.
    assert list(answers["asked"][0]) == ["grey", "blank"]
    doc = ctl.doc
    luma = before["input"] @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(doc.input[:, :, 0], luma, rtol=1e-6)
    assert doc.channel_names == ("grey",) and doc.settings.activation == "sigmoid"
    np.testing.assert_array_equal(
        doc.kernel, load_weights(FIXTURES / "keras_functional.keras")[0].kernel
    )
    assert_views_match_model(window)
    ctl.undo()
    after = ctl.state()
    for key in ("input", "kernel", "bias"):
        np.testing.assert_array_equal(after[key], before[key])
    assert after["settings"] == before["settings"]
    assert after["channel_names"] == before["channel_names"]
    assert_views_match_model(window)


def test_cancelling_the_channel_question_changes_nothing(window, answers):
    ctl = window.controller
    before = ctl.state()
    answers.update(path=FIXTURES / "keras_functional.keras", layer="inner", channels=None)
    assert not window.weights_import.import_dialog()
    assert ctl.history.undo_label is None
    np.testing.assert_array_equal(ctl.doc.kernel, before["kernel"])
    assert ctl.doc.settings == before["settings"]


def test_a_blank_input_with_the_layers_channels(window, answers):
    answers.update(path=FIXTURES / "keras_sequential.keras", layer="grouped", channels="blank")
    assert window.weights_import.import_dialog()
    doc = window.controller.doc
    assert doc.input.shape == (12, 14, 4) and not doc.input.any()
    assert doc.settings.groups == 2 and not doc.settings.use_bias
    assert_views_match_model(window)


def test_a_state_dict_keeps_the_settings_it_does_not_record(window, answers):
    ctl = window.controller
    ctl.change_settings(strides=(2, 2), activation="tanh")
    answers.update(path=FIXTURES / "torch_state_dict.safetensors", layer="features.0")
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    assert window.weights_import.import_dialog()
    s = ctl.doc.settings
    assert (s.strides, s.activation, s.filters) == ((2, 2), "tanh", 4)
    assert any("kept as they were: strides" in m for m in messages)
    assert_views_match_model(window)


def test_dropping_a_model_file_imports_and_a_broken_one_is_refused(window, answers, tmp_path):
    ctl = window.controller
    answers.update(layer="edges")
    drop(window, FIXTURES / "keras_sequential.h5")
    assert ctl.doc.kernel.shape == (3, 3, 3, 4)
    before = ctl.state()
    broken = tmp_path / "broken.keras"
    broken.write_bytes((FIXTURES / "keras_sequential.keras").read_bytes()[:5000])
    drop(window, broken)
    assert answers["warnings"] and answers["warnings"][-1].startswith("broken.keras: ")
    np.testing.assert_array_equal(ctl.doc.kernel, before["kernel"])
    assert ctl.history.undo_label == "Import layer edges from keras_sequential.h5"
    assert_views_match_model(window)


def test_an_input_array_dropped_is_still_an_input(window, answers, tmp_path):
    image = np.random.default_rng(0).random((9, 7, 2)).astype(np.float32)
    np.save(tmp_path / "image.npy", image)
    drop(window, tmp_path / "image.npy")
    np.testing.assert_array_equal(window.controller.doc.input, image)
    assert answers["warnings"] == []


def test_a_layer_beyond_the_apps_limits_is_refused_and_nothing_changes(window, answers):
    ctl = window.controller
    before = ctl.state()
    big = ConvLayer("wide", np.zeros((3, 3, 3, 32), np.float32), None)
    assert not window.weights_import.import_layer(big)
    assert "32 filters, more than 16" in answers["warnings"][0]
    np.testing.assert_array_equal(ctl.doc.kernel, before["kernel"])
    assert ctl.history.undo_label is None


def drop(window, path):
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    event = QtGui.QDropEvent(
        QtCore.QPointF(10, 10),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    settle(window)


# -- the chooser and the question, as widgets ----------------------------------------------
def test_chooser_lists_every_layer_and_greys_out_what_cannot_be_shown(qtbot):
    weights = load_weights(FIXTURES / "keras_sequential.keras")
    big = ConvLayer("huge", np.zeros((13, 13, 3, 4), np.float32), None)
    weights = type(weights)(weights.source, weights.file_format, (*weights.layers, big))
    dialog = LayerChooser(weights, channels=4)
    qtbot.addWidget(dialog)
    table = dialog.table
    rows = [table.topLevelItem(i) for i in range(table.topLevelItemCount())]
    assert [r.text(0) for r in rows] == ["edges", "grouped", "depthwise", "huge"]
    assert rows[0].text(1) == "(3, 3, 3, 4)" and rows[0].text(2) == "3 → 4"
    assert "strides (2, 2)" in rows[0].text(3) and "relu" in rows[0].text(3)
    assert rows[1].text(2) == "4 → 6" and "groups 2" in rows[1].text(3)
    assert "cannot show" in rows[3].text(3) and "larger than 11×11" in rows[3].text(3)
    # Preselected: the first layer reading the input's 4 channels.
    assert dialog.chosen().name == "grouped" and dialog.import_button.isEnabled()
    table.setCurrentItem(rows[3])  # a greyed-out row never becomes the choice
    assert dialog.chosen().name == "grouped"
    only_big = LayerChooser(type(weights)(weights.source, "test", (big,)), channels=3)
    qtbot.addWidget(only_big)
    assert only_big.chosen() is None and not only_big.import_button.isEnabled()
    table.setCurrentItem(rows[0])
    assert dialog.chosen().name == "edges"
    dialog.show()
    qtbot.waitExposed(dialog)
    where = table.visualItemRect(rows[2]).center()
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mouseClick(table.viewport(), left, pos=where)  # a double click starts as a click
    qtbot.mouseDClick(table.viewport(), left, pos=where)
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert dialog.chosen().name == "depthwise"


def test_channel_question_offers_what_fits_and_returns_the_click(window, qtbot):
    layer = load_weights(FIXTURES / "keras_functional.keras")[0]
    choices = channel_choices(1, (12, 14, 3), ("R", "G", "B"))

    def click():
        box = QtWidgets.QApplication.activeModalWidget()
        assert "reads 1 input channel, but the input has 3 (R, G, B)" in box.text()
        button = next(b for b in box.buttons() if b.text().startswith("Make the input grey"))
        button.click()

    QtCore.QTimer.singleShot(0, click)
    assert window.weights_import.ask_channels(layer, choices) == "grey"


def test_channel_conversions():
    rgb = np.random.default_rng(3).random((4, 5, 3)).astype(np.float32)
    assert channel_choices(3, (4, 5, 1), ("grey",)).keys() == {"rgb", "blank"}
    assert channel_choices(3, (4, 5, 4), ("R", "G", "B", "A")).keys() == {"first", "blank"}
    assert channel_choices(2, (4, 5, 1), ("grey",)).keys() == {"blank"}
    image, names = converted_input(rgb[:, :, :1], ("grey",), "rgb", 3)
    assert names == ("R", "G", "B") and np.array_equal(image, np.repeat(rgb[:, :, :1], 3, 2))
    image, names = converted_input(np.dstack([rgb, rgb[:, :, :1]]), "RGBA", "first", 3)
    assert names == ("R", "G", "B") and np.array_equal(image, rgb)
    image, _ = converted_input(rgb[:, :, :2], ("ch 1", "ch 2"), "grey", 1)
    np.testing.assert_allclose(image[:, :, 0], rgb[:, :, :2].mean(axis=2), rtol=1e-6)


def test_imported_layer_on_the_digit_gives_the_networks_own_output(window, answers):
    # The whole path for a state dict: what conv2d computes with the file's kernels.
    answers.update(path=FIXTURES / "torch_state_dict.pt", layer="features.10", channels="blank")
    pytest.importorskip("torch")
    assert window.weights_import.import_dialog()
    doc = window.controller.doc
    assert doc.input.shape[2] == 6
    x = EXPECTED["torch/features.10/x"]
    window.controller.set_input(x)
    settle(window)
    s = doc.settings
    res = conv2d(x, doc.kernel, doc.bias, **{**s.conv_kwargs(), "activation": "linear"})
    np.testing.assert_allclose(
        res.pre_activation, EXPECTED["torch/features.10/y"], rtol=1e-5, atol=1e-6
    )


def test_a_deeper_layer_imports_a_layer_that_reads_its_channels(window, answers):
    ctl = window.controller
    ctl.change_settings(filters=4)  # layer 1 makes 4 maps: "grouped" reads 4 channels
    ctl.add_layer("conv")
    settle(window)
    first = ctl.doc.after  # nothing after layer 2
    answers.update(path=FIXTURES / "keras_sequential.keras", layer="grouped")
    window.weights_import.action.trigger()
    doc = ctl.doc
    assert answers["warnings"] == [] and answers["asked"] == []
    assert doc.shown == 1 and doc.after == first
    np.testing.assert_array_equal(
        doc.kernel, load_weights(FIXTURES / "keras_sequential.keras")[1].kernel
    )
    assert doc.settings.groups == 2
    assert_views_match_model(window)
    # A layer reading 6 channels does not fit: said, nothing changed, no channel question.
    before = doc.kernel.copy()
    answers.update(layer="depthwise")
    window.weights_import.action.trigger()
    assert answers["asked"] == [] and "reads 6 channels" in answers["warnings"][0]
    assert "layer 2 reads the 4 feature maps" in answers["warnings"][0]
    np.testing.assert_array_equal(doc.kernel, before)
    window.undo_action.trigger()  # the import into layer 2
    settle(window)
    assert doc.shown == 1 and doc.kernel.shape == (3, 3, 4, 4)
