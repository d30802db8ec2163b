"""Layer settings (Conv2D hyper-parameters), kernel presets and the brush, as form widgets.

Widgets show what the controller's frame says (updated inside QSignalBlocker so they do
not echo the change back) and emit the user's intent.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.conv import ACTIVATIONS
from convviz.core.model import MAX_FILTERS, MAX_KERNEL, PADDING_MODES, PADDINGS
from convviz.core.presets import KERNEL_PRESETS


def _spin(lo, hi, tip):
    box = QtWidgets.QSpinBox()
    box.setRange(lo, hi)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)  # typing "11" must not pass through 1
    return box


def _pair(lo, hi, tip):
    row = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    a, b = _spin(lo, hi, tip + " (rows)"), _spin(lo, hi, tip + " (columns)")
    lay.addWidget(a)
    lay.addWidget(QtWidgets.QLabel("×"))
    lay.addWidget(b)
    return row, a, b


class LayerPanel(QtWidgets.QWidget):
    """Conv2D(filters, kernel_size, strides, padding, dilation_rate, activation, use_bias)."""

    settingsChanged = QtCore.Signal(dict)
    presetRequested = QtCore.Signal(str, str)  # preset name, scope: kernel/filter/layer

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        # In a narrow column a label goes above its field, leaving the width to the maps.
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.filters = _spin(1, MAX_FILTERS, "number of filters = number of feature maps")
        form.addRow("filters", self.filters)
        row, self.kh, self.kw = _pair(1, MAX_KERNEL, "kernel size")
        form.addRow("kernel_size", row)
        row, self.sh, self.sw = _pair(1, 16, "strides, 1 while dilation_rate is above 1")
        form.addRow("strides", row)
        self.padding = QtWidgets.QComboBox()
        self.padding.addItems(PADDINGS)
        form.addRow("padding", self.padding)
        self.padding_mode = QtWidgets.QComboBox()
        self.padding_mode.addItems(PADDING_MODES)
        self.padding_mode.setToolTip("what the padding cells hold (Keras always pads with zeros)")
        form.addRow("padding mode", self.padding_mode)
        row, self.dh, self.dw = _pair(1, 16, "dilation_rate, 1 while strides are above 1")
        form.addRow("dilation_rate", row)
        # Why the last change was refused (Keras' rules), until the next accepted one.
        self.refusal = QtWidgets.QLabel()
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #a01010;")
        form.addRow(self.refusal)
        form.setRowVisible(self.refusal, False)
        self.activation = QtWidgets.QComboBox()
        self.activation.addItems(ACTIVATIONS)
        form.addRow("activation", self.activation)
        self.use_bias = QtWidgets.QCheckBox("use_bias")
        form.addRow("", self.use_bias)

        self.preset = QtWidgets.QComboBox()
        self.preset.addItems(KERNEL_PRESETS)
        # Narrow enough that the settings column can give its width to the maps.
        self.preset.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.preset.setMinimumContentsLength(10)
        # A choice to apply, not a property of the filter: nothing is shown as current.
        self.preset.setPlaceholderText("choose…")
        self.preset.setCurrentIndex(-1)
        form.addRow("preset", self.preset)
        buttons = QtWidgets.QHBoxLayout()
        self.apply_buttons = []
        for scope, text, tip in (
            ("filter", "this filter", "the preset on every kernel of the selected filter"),
            ("layer", "all filters", "the preset on every kernel of every filter"),
        ):
            button = QtWidgets.QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(
                lambda _=False, s=scope: self.presetRequested.emit(self.preset.currentText(), s)
            )
            button.setEnabled(False)  # until a preset is chosen
            buttons.addWidget(button)
            self.apply_buttons.append(button)
        form.addRow("apply to", buttons)
        self.preset.currentIndexChanged.connect(
            lambda i: [b.setEnabled(i >= 0) for b in self.apply_buttons]
        )

        for box, key in ((self.filters, "filters"),):
            box.valueChanged.connect(lambda v, k=key: self.settingsChanged.emit({k: v}))
        for a, b, key in (
            (self.kh, self.kw, "kernel_size"),
            (self.sh, self.sw, "strides"),
            (self.dh, self.dw, "dilation"),
        ):
            for box in (a, b):
                box.valueChanged.connect(
                    lambda _v, a=a, b=b, k=key: self._propose({k: (a.value(), b.value())})
                )
        self.padding.currentTextChanged.connect(self._padding_picked)
        self.padding_mode.currentTextChanged.connect(
            lambda t: self.settingsChanged.emit({"padding_mode": t})
        )
        self.activation.currentTextChanged.connect(
            lambda t: self.settingsChanged.emit({"activation": t})
        )
        self.use_bias.toggled.connect(lambda on: self.settingsChanged.emit({"use_bias": on}))
        # Any edit here makes the next frame rewrite the widgets, even when the settings
        # come back unchanged (a refused value must not stay in its box).
        self.settingsChanged.connect(self._forget_shown)

    def _forget_shown(self, _change=None) -> None:
        self._shown = None
        self.layout().setRowVisible(self.refusal, False)

    def _propose(self, change: dict) -> None:
        """Emit a change, unless Keras would refuse the layer it makes: then say why
        beside the settings and put the boxes back."""
        shown = getattr(self, "_shown", None)
        if shown is not None and replace(shown, **change).keras_refusal():
            self._shown = None
            self.show_settings(shown)
            other = "dilation_rate" if "strides" in change else "strides"
            # No line break inside "strides > 1" in a narrow column.
            rule = "Keras refuses strides\u00a0>\u00a01 together with dilation_rate\u00a0>\u00a01"
            self.refusal.setText(f"{rule}: set {other} back to 1 first.")
            self.layout().setRowVisible(self.refusal, True)
            return
        self.settingsChanged.emit(change)

    def _padding_picked(self, text: str) -> None:
        if text in PADDINGS:
            self.settingsChanged.emit({"padding": text})

    def clear_preset(self) -> None:
        """Show no preset as chosen (another document is open)."""
        self.preset.setCurrentIndex(-1)

    def preset_names(self) -> list[str]:
        return [self.preset.itemText(i) for i in range(self.preset.count())]

    def show_settings(self, s) -> None:
        if s == getattr(self, "_shown", None):
            return  # most frames (painting, kernel edits) leave the settings alone
        if getattr(self, "_shown", None) is not None:  # another layer: the note is old
            self.layout().setRowVisible(self.refusal, False)
        self._shown = s
        widgets = (
            self.filters,
            self.kh,
            self.kw,
            self.sh,
            self.sw,
            self.dh,
            self.dw,
            self.padding,
            self.padding_mode,
            self.activation,
            self.use_bias,
        )
        blockers = [QtCore.QSignalBlocker(w) for w in widgets]
        self.filters.setValue(s.filters)
        self.kh.setValue(s.kernel_size[0])
        self.kw.setValue(s.kernel_size[1])
        self.sh.setValue(s.strides[0])
        self.sw.setValue(s.strides[1])
        self.dh.setValue(s.dilation[0])
        self.dw.setValue(s.dilation[1])
        # Explicit padding (from a session or a lesson) is shown as what it is.
        while self.padding.count() > len(PADDINGS):
            self.padding.removeItem(len(PADDINGS))
        if isinstance(s.padding, str):
            self.padding.setCurrentText(s.padding)
        else:
            sides = s.padding if isinstance(s.padding, int) else tuple(s.padding)
            self.padding.addItem(f"explicit {sides}")
            self.padding.setCurrentIndex(len(PADDINGS))
        self.padding_mode.setCurrentText(s.padding_mode)
        self.activation.setCurrentText(s.activation or "linear")
        self.use_bias.setChecked(s.use_bias)
        del blockers


class BrushBar(QtWidgets.QToolBar):
    """Brush or eraser, radius, value, and which channel a stroke paints."""

    def __init__(self, parent=None):
        super().__init__("Brush", parent)
        self.setObjectName("brush_toolbar")
        self.eraser = QtWidgets.QCheckBox("eraser")
        self.eraser.setToolTip("paint zeros (E)")
        self.radius = QtWidgets.QDoubleSpinBox()
        self.radius.setRange(0.5, 64)
        self.radius.setSingleStep(0.5)
        self.radius.setValue(1.5)
        self.radius.setToolTip("brush radius in pixels ([ and ] change it)")
        self.value = QtWidgets.QDoubleSpinBox()
        self.value.setRange(-1000, 1000)
        self.value.setDecimals(3)
        self.value.setSingleStep(0.1)
        self.value.setValue(1.0)
        self.value.setToolTip("the value the brush paints")
        self.target = QtWidgets.QComboBox()
        self.target.setToolTip("paint on the channel you click, or on every channel at once")
        self.target.addItems(["channel under the cursor", "all channels"])
        self.addWidget(QtWidgets.QLabel(" Brush  radius "))
        self.addWidget(self.radius)
        self.addWidget(QtWidgets.QLabel("  value "))
        self.addWidget(self.value)
        self.addWidget(QtWidgets.QLabel("  "))
        self.addWidget(self.eraser)
        self.addWidget(QtWidgets.QLabel("  paints "))
        self.addWidget(self.target)

    def key_actions(self) -> list[QtGui.QAction]:
        """Smaller brush ([), larger brush (]) and the eraser (E), for a menu."""
        smaller = QtGui.QAction("Smaller brush", self)
        smaller.setShortcut(QtGui.QKeySequence("["))
        smaller.triggered.connect(lambda: self.grow(-1))
        larger = QtGui.QAction("Larger brush", self)
        larger.setShortcut(QtGui.QKeySequence("]"))
        larger.triggered.connect(lambda: self.grow(1))
        eraser = QtGui.QAction("Eraser", self)
        eraser.setCheckable(True)
        eraser.setShortcut(QtGui.QKeySequence("E"))
        eraser.toggled.connect(self.eraser.setChecked)
        self.eraser.toggled.connect(eraser.setChecked)
        return [smaller, larger, eraser]

    def grow(self, direction: int) -> None:
        """Change the radius by a step that grows with it: 0.5 px for a small brush."""
        r = self.radius.value()
        self.radius.setValue(r + direction * max(0.5, round(r / 2) / 2))  # about r / 4

    def paint_value(self) -> float:
        return 0.0 if self.eraser.isChecked() else self.value.value()

    def all_channels(self) -> bool:
        return self.target.currentIndex() == 1
