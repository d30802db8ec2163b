"""The inspector's dock contents: arithmetic, sliding-window controls, shapes, variants, code.

Widgets show what they are given and emit intents; `convviz.qt.inspection.inspector` wires them.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.explain import PixelArithmetic
from convviz.core.words import count

DIGITS = 4  # significant digits of every number in the arithmetic panel

_CELL = "padding: 2px 6px; text-align: right;"


def num(v: float | None) -> str:
    """A number as the arithmetic panel prints it (the precision the tests check)."""
    if v is None:
        return "—"
    text = f"{v:.{DIGITS}g}"
    return "0" if text == "-0" else text.replace("-", "−")


def _matrix(values, ghost=None, bg="#ffffff") -> str:
    rows = []
    for r, row in enumerate(values):
        cells = []
        for c, v in enumerate(row):
            pad = ghost is not None and ghost[r][c]
            style = _CELL + ("color:#888; font-style:italic;" if pad else "")
            cells.append(f'<td style="{style}" bgcolor="{"#eeeeee" if pad else bg}">{num(v)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table border="1" cellspacing="0" cellpadding="2">' + "".join(rows) + "</table>"


def arithmetic_html(a: PixelArithmetic, names, where: str) -> str:
    """Rich text of one output pixel: per kernel patch × kernel = products, then the sum."""
    out = [f"<h3>{html.escape(where)}</h3>"]
    kernel_word = "kernel rotated 180° (true convolution)" if a.flipped else "kernel"
    for part in a.channels:
        name = html.escape(names[part.channel])
        k = part.kernel_index + 1
        title = f"kernel {k} on <b>{name}</b>"
        if part.muted:
            title += ' <span style="color:#c00">(muted: treated as 0)</span>'
        out.append(f"<p><b>{title}</b></p>")
        out.append(
            '<table cellspacing="6"><tr>'
            f"<td>input patch<br>{_matrix(part.patch, part.in_padding)}</td>"
            '<td valign="middle"><big>×</big></td>'
            f"<td>{kernel_word}<br>{_matrix(part.kernel, bg='#fff7d6')}</td>"
            '<td valign="middle"><big>=</big></td>'
            f"<td>products<br>{_matrix(part.products)}</td>"
            "</tr></table>"
            f"<p>sum of the products = <b>{num(part.total)}</b> = kernel map {k} at "
            f"(row {a.row}, col {a.col})</p>"
        )
    totals = " + ".join(num(p.total) for p in a.channels)
    bias = "0 (use_bias off)" if a.bias is None else num(a.bias)
    label = "sum of kernel maps" if len(a.channels) > 1 else "kernel map (one kernel: no sum)"
    out.append(
        f"<p><b>{label} + bias = pre-activation</b><br>"
        f"{totals} + {bias} = <b>{num(a.pre_activation)}</b></p>"
        f"<p><b>activation</b>: {a.activation}({num(a.pre_activation)}) = "
        f"<b>{num(a.value)}</b> = feature map {a.filter + 1} at (row {a.row}, col {a.col})</p>"
    )
    if a.channels and a.channels[0].in_padding.any():
        out.append("<p><i>grey italic cells are padding, outside the input</i></p>")
    return "".join(out)


def rich_label(text="") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
    return label


def scrolled(widget) -> QtWidgets.QScrollArea:
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area


class AnimationBar(QtWidgets.QWidget):
    """Play / pause / step / scrub / speed for the kernel sliding over the input."""

    stepChanged = QtCore.Signal(int)  # -1 = animation off
    SPEEDS = (1, 2, 5, 10, 30, 100, 300)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QHBoxLayout(self)
        self.active = QtWidgets.QCheckBox("Slide the window")
        self.active.setToolTip("show the kernel moving over the input, one output pixel per step")
        self.back = QtWidgets.QPushButton("◀ step")
        self.play = QtWidgets.QPushButton()
        self.play.setCheckable(True)
        self.forward = QtWidgets.QPushButton("step ▶")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.speed = QtWidgets.QComboBox()
        self.speed.addItems([f"{count(s, 'step')}/s" for s in self.SPEEDS])
        self.speed.setCurrentIndex(2)
        self.label = QtWidgets.QLabel()
        for w in (self.active, self.back, self.play, self.forward):
            lay.addWidget(w)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.speed)
        lay.addWidget(self.label)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.active.toggled.connect(self._on_active)
        self.back.clicked.connect(lambda: self.step_by(-1))
        self.forward.clicked.connect(lambda: self.step_by(1))
        self.play.toggled.connect(self.set_playing)
        self.slider.valueChanged.connect(self._emit)
        self.speed.currentIndexChanged.connect(self._restart)
        self.set_steps(1)
        self._show_playing(False)

    def _show_playing(self, on: bool) -> None:
        # The style's own icons: a pause glyph such as ⏸ is missing from many fonts.
        pixmap = QtWidgets.QStyle.StandardPixmap
        icon = pixmap.SP_MediaPause if on else pixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
        self.play.setText("pause" if on else "play")

    @property
    def step(self) -> int:
        return self.slider.value() if self.active.isChecked() else -1

    def set_steps(self, n: int) -> None:
        """The output has ``n`` pixels: one step each."""
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setRange(0, max(n - 1, 0))

    def _on_active(self, on: bool) -> None:
        if not on:
            self.set_playing(False)
        self._emit()

    def _emit(self, *_):
        self.stepChanged.emit(self.step)

    def step_by(self, delta: int) -> None:
        if not self.active.isChecked():
            self.active.setChecked(True)
        self.slider.setValue(min(max(self.slider.value() + delta, 0), self.slider.maximum()))

    def stop(self) -> None:
        """Stop sliding: every output pixel is shown computed again."""
        self.active.setChecked(False)

    def toggle(self) -> None:
        self.set_playing(not self.timer.isActive())

    def set_playing(self, on: bool) -> None:
        if on and not self.active.isChecked():
            self.active.setChecked(True)
        if on and self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)
        with QtCore.QSignalBlocker(self.play):
            self.play.setChecked(on)
            self._show_playing(on)
        if on:
            self._restart()
        else:
            self.timer.stop()

    def _restart(self, *_):
        if not self.play.isChecked():
            return
        rate = self.SPEEDS[self.speed.currentIndex()]
        self.timer.start(max(1000 // rate, 33))  # above 30 steps/s, several steps per tick

    def _tick(self) -> None:
        rate = self.SPEEDS[self.speed.currentIndex()]
        per_tick = max(1, round(rate * self.timer.interval() / 1000))
        if self.slider.value() >= self.slider.maximum():
            self.set_playing(False)
            return
        self.slider.setValue(min(self.slider.value() + per_tick, self.slider.maximum()))


class VariantsView(QtWidgets.QWidget):
    """Groups, cross-correlation vs true convolution, and muting kernels (view only)."""

    groupsPicked = QtCore.Signal(int)
    flipPicked = QtCore.Signal(bool)
    mutedChanged = QtCore.Signal(object)  # set of kernel indices

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        # Fields go under their labels, and kernels two to a line, in a narrow dock.
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        self.groups = QtWidgets.QComboBox()
        self.groups.setToolTip("split the input channels and the filters into groups")
        form.addRow("groups", self.groups)
        self.flip = QtWidgets.QCheckBox("true convolution (kernel rotated 180°)")
        form.addRow("", self.flip)
        form.addRow(
            "",
            rich_label(
                "Keras and PyTorch compute <i>cross-correlation</i>: the kernel slides as it "
                "is. A true convolution first rotates it by 180°; with a symmetric kernel "
                "both give the same maps."
            ),
        )
        self.mutes = QtWidgets.QWidget()
        self.mute_layout = QtWidgets.QGridLayout(self.mutes)
        self.mute_layout.setContentsMargins(0, 0, 0, 0)
        form.addRow("in the sum", self.mutes)
        self.solo = QtWidgets.QComboBox()
        self.solo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.solo.setMinimumContentsLength(12)
        self.solo.setToolTip("show only one kernel's contribution to the sum")
        form.addRow("solo", self.solo)
        self.boxes: list[QtWidgets.QCheckBox] = []
        self._key = None
        self.groups.activated.connect(lambda i: self.groupsPicked.emit(self.groups.itemData(i)))
        self.flip.toggled.connect(self.flipPicked.emit)
        self.solo.activated.connect(self._solo)

    def show_layer(self, channels: int, groups: int, flip: bool, names, muted) -> None:
        with QtCore.QSignalBlocker(self.groups), QtCore.QSignalBlocker(self.flip):
            self.groups.clear()
            for g in range(1, channels + 1):
                if channels % g == 0:
                    text = f"{g}" + (" (depthwise)" if g == channels and g > 1 else "")
                    self.groups.addItem(text, g)
            self.groups.setCurrentIndex(max(self.groups.findData(groups), 0))
            self.flip.setChecked(flip)
        if tuple(names) != self._key:
            self._key = tuple(names)
            for box in self.boxes:
                self.mute_layout.removeWidget(box)
                box.hide()  # gone now, not once the event loop deletes it
                box.deleteLater()
            self.boxes = []
            # Two a row for short names (R, G, B); long ones ("map 1 of layer 1") one a row.
            columns = 2 if max(map(len, names), default=0) <= 6 else 1
            for k, name in enumerate(names):
                box = QtWidgets.QCheckBox(f"kernel {k + 1} ({name})")
                box.toggled.connect(self._emit_muted)
                self.mute_layout.addWidget(box, k // columns, k % columns)
                self.boxes.append(box)
            with QtCore.QSignalBlocker(self.solo):
                self.solo.clear()
                self.solo.addItem("all kernels", -1)
                for k, name in enumerate(names):
                    self.solo.addItem(f"only kernel {k + 1} ({name})", k)
        for k, box in enumerate(self.boxes):
            with QtCore.QSignalBlocker(box):
                box.setChecked(k not in muted)

    def _emit_muted(self, *_):
        self.mutedChanged.emit({k for k, b in enumerate(self.boxes) if not b.isChecked()})

    def _solo(self, index: int) -> None:
        keep = self.solo.itemData(index)
        for k, box in enumerate(self.boxes):
            with QtCore.QSignalBlocker(box):
                box.setChecked(keep < 0 or k == keep)
        self._emit_muted()


class CodeDialog(QtWidgets.QDialog):
    """Copyable Keras and PyTorch code for the layer on screen."""

    def __init__(self, parent, snippets: dict[str, str], font_pt: int = 11):
        super().__init__(parent)
        self.setWindowTitle("Code for this layer")
        self.resize(900, 650)
        lay = QtWidgets.QVBoxLayout(self)
        self.tabs = QtWidgets.QTabWidget()
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(font_pt)
        self.editors = {}
        for title, code in snippets.items():
            edit = QtWidgets.QPlainTextEdit(code)
            edit.setReadOnly(True)
            edit.setFont(font)
            edit.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
            self.tabs.addTab(edit, title)
            self.editors[title] = edit
        lay.addWidget(self.tabs)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton(
            "Copy", QtWidgets.QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def copy(self) -> None:
        """Put the code of the visible tab on the clipboard."""
        QtWidgets.QApplication.clipboard().setText(self.tabs.currentWidget().toPlainText())
