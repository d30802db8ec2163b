"""The "Learn a kernel" dock's controls: the choices it offers (a target, a start, an
optimiser), the form that lays them out narrow enough for a projector, the buttons and
the loss plot (a mixin of :class:`~convviz.qt.training.dock.TrainingPanel`).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtWidgets

from convviz.core.presets import KERNEL_PRESETS
from convviz.core.training import (
    DEFAULT_LEARNING_RATE,
    DEFAULT_OPTIMIZER,
    DEFAULT_SEED,
    DEFAULT_START,
)
from convviz.qt.training.widgets import RevealBox, TargetCanvas

TEACHER_PRESETS = tuple(p for p in KERNEL_PRESETS if p not in ("zeros", "random (glorot uniform)"))
MIXED = "a different preset per kernel"
# Kernel c of a mixed teacher gets entry c % 6: distinct, recognisable shapes.
MIXED_CYCLE = ("sobel x", "sobel y", "laplacian", "sharpen", "emboss", "gaussian")
TARGETS = ("hidden teacher filter", "painted target", "feature map of another filter")
STARTS = {"current kernels": "current", "zeros": "zeros", "random (Glorot uniform)": "glorot"}
OPTIMIZERS = {"Adam": "adam", "SGD + momentum 0.9": "momentum", "SGD": "sgd"}


def _narrow_form() -> QtWidgets.QFormLayout:
    """A form whose fields go under their labels when the dock is narrow (a projector)."""
    form = QtWidgets.QFormLayout()
    form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def _shrinkable(combo: QtWidgets.QComboBox) -> QtWidgets.QComboBox:
    """A combo box as narrow as ten characters, not as wide as its longest choice."""
    combo.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    combo.setMinimumContentsLength(10)
    return combo


def _form_row(form: QtWidgets.QFormLayout, label: str, *widgets) -> QtWidgets.QWidget:
    """One form row: the first field on its own line, then each (label, field) pair on
    a line under it, so the row stays narrow enough for a dock on a projector."""
    row = QtWidgets.QWidget()
    grid = QtWidgets.QGridLayout(row)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.addWidget(widgets[0], 0, 0, 1, 2)
    rest = widgets[1:]
    for i in range(0, len(rest), 2):
        grid.addWidget(rest[i], 1 + i // 2, 0)
        grid.addWidget(rest[i + 1], 1 + i // 2, 1)
    grid.setColumnStretch(1, 1)
    form.addRow(label, row)
    return row


class TrainingControls:
    """The dock's widgets, built and connected, and which of them a target shows."""

    # -- widgets --------------------------------------------------------------------------
    def _build(self) -> None:
        body = QtWidgets.QWidget()
        body.setStyleSheet("font-size: 12pt;")
        lay = QtWidgets.QVBoxLayout(body)
        self.heading = QtWidgets.QLabel()
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-size: 13pt; font-weight: 600;")
        lay.addWidget(self.heading)
        form = self._form = _narrow_form()
        lay.addLayout(form)

        self.target_kind = _shrinkable(QtWidgets.QComboBox())
        self.target_kind.addItems(TARGETS)
        form.addRow("Target", self.target_kind)
        self.teacher_preset = _shrinkable(QtWidgets.QComboBox())
        self.teacher_preset.addItems((*TEACHER_PRESETS, MIXED))
        self.teacher_preset.setCurrentText("sobel x")
        self.teacher_bias = QtWidgets.QDoubleSpinBox(decimals=2, minimum=-10, maximum=10)
        self.teacher_bias.setSingleStep(0.1)
        self._teacher_row = _form_row(
            form, "Teacher", self.teacher_preset, QtWidgets.QLabel("bias"), self.teacher_bias
        )
        self.other_filter = QtWidgets.QSpinBox(minimum=1, maximum=1)
        form.addRow("Target filter", self.other_filter)
        self.canvas = TargetCanvas()
        self.paint_value = QtWidgets.QDoubleSpinBox(decimals=2, minimum=-100, maximum=100)
        self.paint_value.setValue(1.0)
        self.paint_radius = QtWidgets.QDoubleSpinBox(decimals=1, minimum=0, maximum=20)
        self.paint_radius.setValue(1.0)
        self.clear_target = QtWidgets.QPushButton("Clear")
        self.copy_target = QtWidgets.QPushButton("Copy feature map")
        self.copy_target.setToolTip("Start the painted target from the current feature map")
        self.paint_row = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.paint_row)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QtWidgets.QLabel("paint value"), 0, 0)
        grid.addWidget(self.paint_value, 0, 1)
        grid.addWidget(QtWidgets.QLabel("radius"), 0, 2)
        grid.addWidget(self.paint_radius, 0, 3)
        grid.addWidget(self.clear_target, 1, 0, 1, 2)
        grid.addWidget(self.copy_target, 1, 2, 1, 2)
        lay.addWidget(self.paint_row)
        lay.addWidget(self.canvas)

        form = _narrow_form()
        lay.addLayout(form)
        self.start = _shrinkable(QtWidgets.QComboBox())
        self.start.addItems(STARTS)
        self.start.setCurrentText(next(k for k, v in STARTS.items() if v == DEFAULT_START))
        self.seed = QtWidgets.QSpinBox(minimum=0, maximum=9999)
        self.seed.setValue(DEFAULT_SEED)
        _form_row(form, "Start from", self.start, QtWidgets.QLabel("seed"), self.seed)
        self.optimizer = _shrinkable(QtWidgets.QComboBox())
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setCurrentText(
            next(k for k, v in OPTIMIZERS.items() if v == DEFAULT_OPTIMIZER)
        )
        form.addRow("Optimiser", self.optimizer)
        self.learning_rate = QtWidgets.QDoubleSpinBox(decimals=4, minimum=1e-4, maximum=10)
        self.learning_rate.setValue(DEFAULT_LEARNING_RATE)
        self.learning_rate.setSingleStep(0.01)
        self.steps_per_frame = QtWidgets.QSpinBox(minimum=1, maximum=1000)
        self.steps_per_frame.setValue(10)
        _form_row(
            form,
            "Learning rate",
            self.learning_rate,
            QtWidgets.QLabel("steps per frame"),
            self.steps_per_frame,
        )

        buttons = QtWidgets.QGridLayout()  # two by two: whole in a narrow dock
        self.train_button = QtWidgets.QPushButton("Train")
        self.train_button.setCheckable(True)
        self.step_button = QtWidgets.QPushButton("Step")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reveal_button = QtWidgets.QPushButton("Reveal teacher")
        self.reveal_button.setCheckable(True)
        for i, b in enumerate(
            (self.train_button, self.step_button, self.reset_button, self.reveal_button)
        ):
            b.setMinimumHeight(34)
            buttons.addWidget(b, i // 2, i % 2)
        lay.addLayout(buttons)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.plot = pg.PlotWidget()
        self.plot.setLogMode(y=True)
        self.plot.setLabel("left", "loss = mean((feature map − target)²)")
        # SI prefixes on a log axis print "(x0.001)" next to powers of ten: unreadable.
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setMinimumHeight(180)
        self.curve = self.plot.plot(pen=pg.mkPen("#ffb000", width=2))
        lay.addWidget(self.plot, 1)
        self.reveal = RevealBox()
        self.reveal.hide()
        lay.addWidget(self.reveal)

        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)

        self.target_kind.currentIndexChanged.connect(self._on_target_kind)
        for w in (self.teacher_preset, self.start, self.optimizer):
            w.currentIndexChanged.connect(self.invalidate)
        for w in (self.teacher_bias, self.seed, self.other_filter):
            w.valueChanged.connect(self.invalidate)
        self.canvas.changed.connect(self.invalidate)
        self.paint_value.valueChanged.connect(lambda v: setattr(self.canvas, "value", v))
        self.paint_radius.valueChanged.connect(lambda v: setattr(self.canvas, "radius", v))
        self.clear_target.clicked.connect(lambda: self.canvas.set_values(self.canvas.values * 0))
        self.copy_target.clicked.connect(self._copy_feature_map)
        self.learning_rate.valueChanged.connect(self._on_learning_rate)
        self.train_button.toggled.connect(self._on_train_toggled)
        self.step_button.clicked.connect(self.step_once)
        self.reset_button.clicked.connect(self.reset)
        self.reveal_button.toggled.connect(self._on_reveal)
        self._on_target_kind()

    def _on_target_kind(self) -> None:
        kind = self.target_kind.currentText()
        self._form.setRowVisible(self._teacher_row, kind == TARGETS[0])
        self._form.setRowVisible(self.other_filter, kind == TARGETS[2])
        for w in (self.paint_row, self.canvas):
            w.setVisible(kind == TARGETS[1])
        self.reveal_button.setEnabled(kind == TARGETS[0])
        if kind != TARGETS[0]:
            self.reveal_button.setChecked(False)
        self.invalidate()
