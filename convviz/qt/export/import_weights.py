"""File → Import weights…: show a trained model's Conv2D layer in the window.

The file's conv layers are listed (name, kernel shape, C_in → filters, settings); the one
chosen replaces the layer's weights and settings in one undo step. A layer that reads
another number of channels than the input has gets a question with what fits: grey ↔
RGB, the first channels, a blank input with its C_in channels, or cancel. Layers convviz
cannot show are listed greyed out with the reason.

Every question goes through one method (``choose_layer``, ``ask_channels``, ``warn``) so
tests can answer instead of a person.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.model import default_channel_names
from convviz.core.words import count
from convviz.io._checks import check_weights
from convviz.io.file_names import display_name
from convviz.io.inputs import InputError
from convviz.io.model_weights import WEIGHTS_SUFFIXES, ConvLayer, ModelWeights, load_weights
from convviz.qt.base.plain_text import plain
from convviz.qt.base.views import ok_cancel

# ITU-R BT.601 luma, as Pillow converts a colour image to grey ("L").
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_FILTER = "Trained models (" + " ".join(f"*{s}" for s in WEIGHTS_SUFFIXES) + ");;All files (*)"


def settings_text(layer: ConvLayer) -> str:
    """What the file records of a layer's settings, in Keras' words."""
    parts = []
    if layer.strides is not None and layer.strides != (1, 1):
        parts.append(f"strides {layer.strides}")
    if layer.padding is not None:
        parts.append(f"padding {layer.padding}")
    if layer.dilation is not None and layer.dilation != (1, 1):
        parts.append(f"dilation {layer.dilation}")
    if layer.groups not in (None, 1):
        parts.append(f"groups {layer.groups}")
    if layer.activation is not None:
        parts.append(str(layer.activation))
    if layer.bias is None:
        parts.append("no bias")
    recorded = ", ".join(parts)
    if len(layer.unrecorded) == 5:
        return "settings not recorded" + (f"; {recorded}" if recorded else "")
    return recorded


def channel_choices(c_in: int, shape, names) -> dict[str, str]:
    """What can make an input of ``shape`` (H, W, C) fit a layer reading ``c_in``
    channels, as {choice: button text}; ``"blank"`` is always offered."""
    h, w, c = shape
    out = {}
    if c_in == 1 and c > 1:
        how = "luminance of R, G, B" if c == 3 else f"mean of the {c} channels"
        out["grey"] = f"Make the input grey ({how})"
    elif c_in == 3 and c == 1:
        out["rgb"] = "Repeat the grey channel as R, G and B"
    elif 1 < c_in < c:
        out["first"] = f"Keep the first {c_in} channels ({', '.join(names[:c_in])})"
    out["blank"] = f"A blank {h}×{w} input with {c_in} channels"
    return out


def converted_input(image: np.ndarray, names, choice: str, c_in: int):
    """The input (and its channel names) a choice of :func:`channel_choices` makes."""
    h, w, c = image.shape
    if choice == "grey":
        weights = _LUMA if c == 3 else np.full(c, 1 / c, np.float32)
        return (image @ weights)[:, :, None].astype(np.float32), ("grey",)
    if choice == "rgb":
        return np.repeat(image, 3, axis=2), ("R", "G", "B")
    if choice == "first":
        return image[:, :, :c_in].copy(), tuple(names[:c_in])
    return np.zeros((h, w, c_in), np.float32), default_channel_names(c_in)


class LayerChooser(QtWidgets.QDialog):
    """The conv layers of one file; the teacher picks the one to show."""

    COLUMNS = ("layer", "kernel (kh, kw, C_in // groups, filters)", "C_in → filters", "settings")

    def __init__(self, weights: ModelWeights, channels: int, parent=None):
        super().__init__(parent)
        self.weights = weights
        self.setWindowTitle(f"Import weights from {display_name(weights.source)}")
        lay = QtWidgets.QVBoxLayout(self)
        count = len(weights)
        intro = QtWidgets.QLabel(
            f"{weights.file_format}: {count} Conv2D layer{'s' if count != 1 else ''}. "
            "Choose the layer to show; its weights and settings replace the current layer "
            "(Edit → Undo brings it back)."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.table = QtWidgets.QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(self.COLUMNS)
        self.table.setUniformRowHeights(True)
        first = first_layer = None
        for layer in weights:
            kh, kw, cg, filters = layer.kernel.shape
            problems = layer.problems()
            item = QtWidgets.QTreeWidgetItem(
                [
                    layer.name,
                    f"({kh}, {kw}, {cg}, {filters})",
                    f"{layer.in_channels} → {filters}",
                    "cannot show: " + "; ".join(problems) if problems else settings_text(layer),
                ]
            )
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, layer)
            if problems:
                item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(3, plain("; ".join(problems)))  # names come from the file
            elif first is None or (layer.in_channels == channels != first_layer.in_channels):
                # Preselected: the first layer convviz can show, one fitting the input first.
                first, first_layer = item, layer
            self.table.addTopLevelItem(item)
        for col in range(len(self.COLUMNS)):
            self.table.resizeColumnToContents(col)
        lay.addWidget(self.table, 1)
        if weights.notes:
            notes = QtWidgets.QLabel(" ".join(weights.notes))
            notes.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            notes.setWordWrap(True)
            lay.addWidget(notes)
        self.buttons = ok_cancel(self)
        self.import_button = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        lay.addWidget(self.buttons)
        self.table.currentItemChanged.connect(self._update_button)
        self.table.itemDoubleClicked.connect(lambda item, _col: self.accept())
        if first is not None:
            self.table.setCurrentItem(first)
        self._update_button()
        width = sum(self.table.columnWidth(c) for c in range(len(self.COLUMNS))) + 40
        screen = self.screen().availableGeometry() if self.screen() else None
        limit = screen.width() - 40 if screen is not None else 1200
        self.resize(min(max(width, 480), limit), min(120 + 28 * (count + 4), 560))

    def _update_button(self) -> None:
        self.import_button.setEnabled(self.chosen() is not None)

    def chosen(self) -> ConvLayer | None:
        item = self.table.currentItem()
        if item is None or not item.flags() & QtCore.Qt.ItemFlag.ItemIsEnabled:
            return None
        return item.data(0, QtCore.Qt.ItemDataRole.UserRole)


class WeightsImport(QtCore.QObject):
    """File → Import weights… of a main window, and the import of dropped model files."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.action = QtGui.QAction("Import &weights…", window)
        self.action.setToolTip("Show a Conv2D layer of a Keras, PyTorch or safetensors file")
        self.action.triggered.connect(self.import_dialog)
        window.file_menu.insertAction(window.alpha_action, self.action)
        self.folder = ""

    # -- the questions (tests answer them) ----------------------------------------------
    def ask_path(self) -> str:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Import weights of a trained model", self.folder, _FILTER
        )
        return path

    def choose_layer(self, weights: ModelWeights) -> ConvLayer | None:
        dialog = LayerChooser(weights, self.controller.input_shape()[2], self.window)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        return dialog.chosen()

    def ask_channels(self, layer: ConvLayer, choices: dict[str, str]) -> str | None:
        c, names = self.controller.input_shape()[2], ", ".join(self.controller.channel_names())
        box = QtWidgets.QMessageBox(self.window)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("The layer reads another number of channels")
        box.setText(
            plain(
                f"Layer {layer.name} reads {layer.in_channels} input "
                f"channel{'s' if layer.in_channels != 1 else ''}, but the input has {c} "
                f"({names})."
            )
        )
        box.setInformativeText(
            "Each filter holds one kernel per input channel, so the input must have "
            f"{layer.in_channels}. What should the input become?"
        )
        buttons = {
            box.addButton(text, QtWidgets.QMessageBox.ButtonRole.AcceptRole): key
            for key, text in choices.items()
        }
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.exec()
        return buttons.get(box.clickedButton())

    def warn(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self.window, title, plain(text))

    # -- importing ----------------------------------------------------------------------
    def import_dialog(self) -> bool:
        path = self.ask_path()
        return bool(path) and self.import_path(path)

    def import_path(self, path) -> bool:
        """Read a model file, let the teacher choose a layer and show it; on any problem
        say why and keep the current work. True when a layer was imported."""
        path = Path(path)
        self.folder = str(path.parent)
        try:
            weights = load_weights(path)
        except InputError as exc:
            self.warn("Cannot import weights", str(exc))
            return False
        if not len(weights):
            notes = " ".join(weights.notes)
            self.warn(
                "No Conv2D layer",
                f"{display_name(path)}: the file holds no Conv2D layer convviz can show."
                + (f"\n\n{notes}" if notes else ""),
            )
            return False
        layer = self.choose_layer(weights)
        return layer is not None and self.import_layer(layer, display_name(path))

    def import_layer(self, layer: ConvLayer, source: str = "") -> bool:
        """Set the document's layer to ``layer``, asking how the input should fit when its
        channels differ. True when it was imported."""
        controller = self.controller
        try:
            settings = layer.settings(controller.layer_settings())
            # The kernel editor's limit, as for sessions: beyond it every map saturates.
            bias = layer.bias if layer.bias is not None else np.zeros(0, np.float32)
            check_weights(layer.kernel, bias, f"layer {layer.name}")
        except ValueError as exc:
            self.warn("Cannot show this layer", str(exc))
            return False
        image = names = None
        channels, shown = controller.input_shape()[2], controller.layer_shown()
        if layer.in_channels != channels and shown:
            k = shown + 1
            self.warn(
                "Cannot show this layer",
                f"{layer.name} reads {count(layer.in_channels, 'channel')}, but layer {k} "
                f"reads the {count(channels, 'feature map')} the layer before it makes. "
                f"Import it into layer 1, or give the layer before {layer.in_channels} filters "
                "first.",
            )
            return False
        if layer.in_channels != channels:
            choices = channel_choices(
                layer.in_channels, controller.input_shape(), controller.channel_names()
            )
            choice = self.ask_channels(layer, choices)
            if choice not in choices:
                return False
            image, names = converted_input(
                controller.input_image(), controller.channel_names(), choice, layer.in_channels
            )
        where = f" from {source}" if source else ""
        try:
            self.controller.set_layer(
                layer.kernel,
                layer.bias,
                settings,
                image=image,
                names=names,
                label=f"Import layer {layer.name}{where}",
            )
        except ValueError as exc:
            self.warn("Cannot show this layer", f"{layer.name}: {exc}")
            return False
        kh, kw = layer.kernel_size
        message = f"Imported {layer.name}{where}: {layer.filters} filters of {kh}×{kw}."
        if layer.unrecorded:
            message += f" Not in the file, kept as they were: {', '.join(layer.unrecorded)}."
        self.window.show_message(message)
        return True


def install_weights_import(window) -> WeightsImport:
    """Add File → Import weights… to ``window`` (a MainWindow)."""
    return WeightsImport(window)
