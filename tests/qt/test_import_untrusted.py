"""A model file is untrusted too: its layer names are shown as text and its weights
obey the kernel editor's limit. Needs no model library: layers are built directly."""

import numpy as np
import pytest
from PySide6 import QtGui, QtWidgets

from convviz.io.model_weights import ConvLayer
from tests.qt.helpers import settle


@pytest.fixture
def warnings(window, monkeypatch):
    shown = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text)
    )
    return shown


def _rendered(text: str) -> str:
    doc = QtGui.QTextDocument()
    (doc.setHtml if QtGui.Qt.mightBeRichText(text) else doc.setPlainText)(text)
    return doc.toPlainText()


def test_weights_beyond_the_editors_limit_are_refused_and_the_layer_kept(window, warnings):
    settle(window)
    before = window.controller.doc.kernel.copy()
    kernel = np.zeros((3, 3, 3, 2), np.float32)
    kernel[1, 1, 0, 0] = 3e38
    layer = ConvLayer("conv2d", kernel, np.zeros(2, np.float32))
    assert not window.weights_import.import_layer(layer, "model.keras")
    (text,) = warnings
    assert "beyond ±1e6" in text and "3e+38" in text and "layer conv2d" in text
    np.testing.assert_array_equal(window.controller.doc.kernel, before)


def test_a_layer_name_that_looks_like_html_is_shown_as_text(window, warnings):
    settle(window)
    name = '<img src="/dev/zero">'
    layer = ConvLayer(name, np.full((3, 3, 3, 2), 2e6, np.float32), None)
    assert not window.weights_import.import_layer(layer, "model.keras")
    (text,) = warnings
    assert name in _rendered(text)  # literal, not an image read from /dev/zero
