"""Edit the numbers of one filter's kernels live, legibly enough for a projector.

The widget displays what :meth:`KernelEditor.set_filter` gave it and emits intents; the
controller owns the model and echoes every accepted change back through ``set_filter``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from convviz.qt.edit.kernel_cells import KernelCells, cell_size
from convviz.qt.edit.kernel_echo import KernelEcho
from convviz.qt.edit.number_cell import NumberCell


class KernelEditor(KernelEcho, KernelCells):
    """Editable view of one filter: its kernels side by side, then its bias.

    Shows the Cg kernels of the filter (one kh×kw grid of number cells per input channel
    they slide over), wrapped into rows that follow the panel width and scrolled when they
    do not fit. Cells are tinted on a diverging blue–white–red scale. Its signals are
    those of :class:`KernelCells`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._boxes: list[QFrame] = []
        self._labels: list[QLabel] = []
        self._names: tuple[str, ...] = ()
        self._values: np.ndarray | None = None
        self._vmax_override: float | None = None
        self._shown_scale: tuple | None = None  # (value at full tint, colour map)
        self._columns = 0
        self._described: tuple | None = None  # (filter, shape, names) the cells are named for

        self._title = QLabel()  # on two lines when the bias leaves too little room
        self._bias_label = QLabel("bias")
        self._apply_font()
        self._canvas = QWidget()
        self._grid = QGridLayout(self._canvas)
        self._grid.setSpacing(12)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidget(self._canvas)
        self._scroll.viewport().installEventFilter(self)
        self._canvas.installEventFilter(self)
        for bar in (self._scroll.horizontalScrollBar(), self._scroll.verticalScrollBar()):
            bar.valueChanged.connect(self._schedule_more)
        # Says how many kernels are out of sight, and where: never a bare scroll bar. It
        # floats in the corner of the kernels' view, where they are cut off.
        self.more_button = QToolButton(self._scroll.viewport())
        self.more_button.setStyleSheet(
            "QToolButton { font-weight: 600; color: white; background: #b0003a;"
            " border-radius: 4px; padding: 2px 6px; }"
        )
        self.more_button.clicked.connect(self._show_next_hidden)
        self.more_button.hide()
        self._more_timer = QTimer(self, singleShot=True, interval=0)
        self._more_timer.timeout.connect(self._update_more)
        # Cells still to be shown their value, in reading order: an echo that changes more
        # than ECHO_CHUNK cells (a training step changes all 1,936 of a 16-channel 11x11
        # filter, 60 ms) shows them a chunk per turn of the event loop, so the window
        # never stalls; a cell is brought up to date before it is typed into or nudged.
        self._pending: dict[tuple[int, int, int], None] = {}
        self._pending_timer = QTimer(self, singleShot=True, interval=0)
        self._pending_timer.timeout.connect(self._show_pending)

        self._bias = self._make_cell(None)
        self._bias_row = QWidget()
        row = QHBoxLayout(self._bias_row)
        row.setContentsMargins(0, 0, 0, 0)
        self._bias_label.setBuddy(self._bias)
        row.addWidget(self._bias_label)
        row.addWidget(self._bias)
        row.addStretch(1)

        # The bias sits beside the title, so the kernels get the height below both.
        top = QHBoxLayout()
        top.addWidget(self._title)
        top.addSpacing(24)
        top.addWidget(self._bias_row)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._scroll, 1)
        self._bias_row.hide()

    def _apply_font(self) -> None:
        """Size the cells and titles from the widget's font (the app's, scaled for a
        projector): kernel numbers a notch above it."""
        base = self.font()
        self._cell_font = QFont(base)
        self._cell_font.setFamilies(
            [QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()]
        )
        self._cell_font.setStyleHint(QFont.StyleHint.Monospace)
        if base.pointSizeF() > 0:
            self._cell_font.setPointSizeF(base.pointSizeF() * 1.2)
        else:
            self._cell_font.setPixelSize(round(base.pixelSize() * 1.2))
        self._cell_size = cell_size(self._cell_font)
        title_font = QFont(base)
        title_font.setBold(True)
        self._title.setFont(title_font)
        self._bias_label.setFont(self._cell_font)
        cells = [*self._cells.values(), *([self._bias] if self._bias is not None else [])]
        for cell in cells:
            cell.setFont(self._cell_font)
            cell.setFixedSize(self._cell_size)
        for box in self._boxes:
            box.adjustSize()
        if self._boxes:
            self._columns = 0
            self._reflow()
        self.updateGeometry()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # the presentation scale changed
            self._apply_font()

    def set_filter(
        self,
        kernels: np.ndarray,
        bias: float | None,
        filter_index: int,
        n_filters: int,
        channel_names: Sequence[str],
    ) -> None:
        """Show one filter. Cheap when the shape is unchanged; never emits edit signals.

        Parameters
        ----------
        kernels : numpy.ndarray
            ``(kh, kw, Cg)``: the filter's kernels, one per input channel of its group.
        bias : float or None
            The filter's bias; ``None`` when the layer has no bias (the cell is hidden).
        filter_index, n_filters : int
            0-based index of the filter, and how many the layer has.
        channel_names : sequence of str
            Names of the ``Cg`` channels the kernels slide over, e.g. ``("R", "G", "B")``.
        """
        values = np.array(kernels, dtype=np.float64)  # a copy: compared with the next
        names = tuple(str(n) for n in channel_names)
        if values.ndim != 3:
            raise ValueError(f"kernels must have shape (kh, kw, Cg), got {values.shape}")
        if len(names) != values.shape[2]:
            raise ValueError(f"{values.shape[2]} kernels but {len(names)} channel names")
        self._updating = True
        try:
            if (values.shape, names) != (self._shape, self._names):
                self._rebuild(values.shape, names)
            self._describe_cells(filter_index, names)
            previous, self._values = self._values, values
            n = filter_index + 1
            self._set_text(self._title, f"Filter {n} of {n_filters} · shape {values.shape}")
            self._fit_title()
            for k, label in enumerate(self._labels):
                self._set_text(label, f"kernel {k + 1} of filter {n} · acts on {names[k]}")
            self._bias_row.setVisible(bias is not None)
            self._bias.setEnabled(bias is not None)
            self._show_values(float(bias) if bias is not None else None, previous)
        finally:
            self._updating = False

    def _describe_cells(self, filter_index: int, names: tuple[str, ...]) -> None:
        key = (filter_index, self._shape, names)
        if key == self._described:
            return
        if self._described is not None and self._described[0] != filter_index:
            self._finish_gesture()  # a burst of nudges never carries over to another filter
        self._described = key
        n = filter_index + 1
        for (r, c, k), cell in self._cells.items():
            cell.describe(f"filter {n}, kernel {k + 1} ({names[k]}), row {r + 1}, column {c + 1}")
        self._bias.describe(f"bias of filter {n}")

    def set_value_range(self, vmax: float | None) -> None:
        """Value shown at full tint (e.g. shared by all filters); ``None``: from the data."""
        ok = vmax is not None and np.isfinite(vmax) and vmax > 0
        self._vmax_override = float(vmax) if ok else None
        if self._values is not None:
            self._show_values(self._bias.value if self._bias_row.isVisibleTo(self) else None)

    def bias_cell(self) -> QLineEdit:
        """The cell editing the bias."""
        return self._bias

    def _grid_shape(self) -> tuple[QSize, int, int]:
        """A kernel box's size, and the boxes across and down the editor asks room for."""
        box = self._boxes[0].sizeHint()
        across = max(1, min(len(self._boxes), 3, 1000 // box.width()))  # a panel, not a screen
        return box, across, min(-(-len(self._boxes) // across), 2)

    def sizeHint(self) -> QSize:
        if not self._boxes:
            return QSize(420, 260)
        box, across, down = self._grid_shape()
        spacing, outer = self._grid.spacing(), self.layout().contentsMargins()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = across * (box.width() + spacing) - spacing + bar
        height = down * (box.height() + spacing) - spacing + 2 * self.layout().spacing()
        height += max(self._title.sizeHint().height(), self._bias_row.sizeHint().height())
        return QSize(width + outer.left() + outer.right(), height + outer.top() + outer.bottom())

    def one_row_height(self) -> int:
        """Height that shows the title, the first row of kernels whole, and the bias."""
        hint = self.sizeHint().height()
        if not self._boxes:
            return hint
        box, _, down = self._grid_shape()
        return hint - (down - 1) * (box.height() + self._grid.spacing())

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 90)  # it scrolls: the maps below need the room more

    def _rebuild(self, shape: tuple[int, int, int], names: tuple[str, ...]) -> None:
        self._touched = None  # new cells show nothing yet
        self._pending.clear()
        if self._gesture is not None and self._gesture[0] is not self._bias:
            self._finish_gesture()
        for box in self._boxes:
            for cell in box.findChildren(NumberCell):
                cell.blockSignals(True)  # leaving focus while dying must not commit
            self._grid.removeWidget(box)
            box.hide()
            box.deleteLater()
        self._cells.clear()
        self._boxes.clear()
        self._labels.clear()
        kh, kw, cg = shape
        for k in range(cg):
            box = QFrame(self._canvas)
            box.setFrameShape(QFrame.Shape.StyledPanel)
            box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            column = QVBoxLayout(box)
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)  # channel names come from files
            column.addWidget(label)
            cells = QGridLayout()
            cells.setSpacing(2)
            for r in range(kh):
                for c in range(kw):
                    cell = self._make_cell((r, c, k))
                    self._cells[(r, c, k)] = cell
                    cells.addWidget(cell, r, c)
            column.addLayout(cells)
            self._boxes.append(box)
            self._labels.append(label)
        chain = [*self._cells.values(), self._bias]  # dict order is reading order
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self._shape, self._names = shape, names
        self._columns = 0
        self._reflow()
        self.updateGeometry()

    def _reflow(self) -> None:
        """Wrap the kernel boxes into as many columns as the viewport width allows."""
        if not self._boxes:
            return
        spacing = self._grid.spacing()
        margins = self._grid.contentsMargins()
        free = self._scroll.viewport().width() - margins.left() - margins.right() + spacing
        columns = max(
            1, min(len(self._boxes), free // (self._boxes[0].sizeHint().width() + spacing))
        )
        if columns == self._columns:
            return
        self._columns = columns
        for i, box in enumerate(self._boxes):
            self._grid.addWidget(box, i // columns, i % columns)  # re-adding moves it

    def eventFilter(self, watched, event) -> bool:
        if watched is self._scroll.viewport() and event.type() == event.Type.Resize:
            self._reflow()
            self._fit_title()
            self._schedule_more()
        elif watched is self._canvas and event.type() == event.Type.LayoutRequest:
            self._schedule_more()  # the boxes move once the canvas lays them out
        return super().eventFilter(watched, event)

    def hidden_kernels(self) -> list[int]:
        """Indices of the kernels not wholly in sight in the editor."""
        viewport = self._scroll.viewport()
        room = viewport.rect()
        return [
            k
            for k, box in enumerate(self._boxes)
            if not room.contains(QRect(box.mapTo(viewport, QPoint(0, 0)), box.size()))
        ]

    def _schedule_more(self, *_args) -> None:
        self._more_timer.start()

    def _update_more(self) -> None:
        hidden = self.hidden_kernels()
        if hidden:
            viewport = self._scroll.viewport()
            below = any(
                self._boxes[k].mapTo(viewport, QPoint(0, self._boxes[k].height())).y()
                > viewport.height()
                for k in hidden
            )
            room = viewport.rect()
            out = [
                k
                for k in hidden
                if not room.intersects(
                    QRect(self._boxes[k].mapTo(viewport, QPoint(0, 0)), self._boxes[k].size())
                )
            ]
            n = len(out)  # a kernel only cut off at the edge is in sight, not one more
            arrow = "↓" if below else "→"
            if out:
                text = f"{n} more kernel{'s' if n > 1 else ''} {arrow}"
            else:  # only cut off at the edge: say that it goes on, not that more follow
                text = f"kernel {hidden[0] + 1} continues {arrow}"
            self.more_button.setText(text)
            self.more_button.setToolTip("Scroll to the kernel out of sight")
            self.more_button.adjustSize()
            corner = viewport.rect().bottomRight() - QPoint(4, 4)
            size = self.more_button.size()
            self.more_button.move(corner.x() - size.width(), corner.y() - size.height())
            self.more_button.raise_()
        self.more_button.setVisible(bool(hidden))

    def _show_next_hidden(self) -> None:
        hidden = self.hidden_kernels()
        if hidden:
            self._scroll.ensureWidgetVisible(self._boxes[hidden[0]], 2, 2)

    def _fit_title(self) -> None:
        """One line for the title when it fits beside the bias, else two."""
        line = QFontMetrics(self._title.font()).horizontalAdvance(self._title.text())
        margins = self.layout().contentsMargins()
        room = self.width() - margins.left() - margins.right() - 24
        room -= self._bias_row.sizeHint().width() if self._bias_row.isVisibleTo(self) else 0
        wrap = line > room
        if wrap != self._title.wordWrap():
            self._title.setWordWrap(wrap)

    @staticmethod
    def _set_text(label: QLabel, text: str) -> None:
        if label.text() != text:  # relabelling relayouts; skip it on every nudge echo
            label.setText(text)

    def _on_focused(self, cell: NumberCell) -> None:
        if cell is not self._bias:
            self._scroll.ensureWidgetVisible(cell, 8, 8)
