"""The panels of the selected filter and of all filters: the kernel maps joined by "+",
then + bias, activation and feature map (:class:`SumPanel`); every filter's feature map,
one of them selected (:class:`FiltersPanel`). Built on :class:`~convviz.qt.maps.panels.MapPanel`.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from convviz.qt.base.views import MIN_TITLE_SCALE, WrappedLabel, diverging_colormap
from convviz.qt.edit.number_cell import weight_text
from convviz.qt.maps.panels import (
    MIN_MAP,
    MIN_MAPS_KEPT,
    MapPanel,
    equal_columns,
    grid_minimum,
    set_label,
)


class SumPanel(MapPanel):
    """Kernel maps of the selected filter joined by '+', then + bias, activation, feature map.

    Reads left to right as the arithmetic: map 1 + map 2 + ... + bias = pre-activation,
    activation -> feature map.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message = None

    def _label(self, layout, text, row, col, size=20):
        label = pg.LabelItem(text, size=self.pt(size), color="#e8e8e8")
        layout.addItem(label, row=row, col=col)
        return label

    def _build(self, n_maps: int) -> None:
        # Row 1: the kernel maps joined by '+', under their kernels.
        # Row 2: + bias = pre-activation -> activation -> feature map.
        self._clear()
        maps = self.ci.addLayout(row=0, col=0)
        cols = min(n_maps, 4)
        for i in range(n_maps):
            r, c = 2 * (i // cols), 2 * (i % cols)
            self._new_cell(r, c, i, layout=maps)
            if i < n_maps - 1:
                self._label(maps, "+", r + 1, c + 1)
        equal_columns(maps, range(0, 2 * cols, 2))
        for r in range(1, 2 * (-(-n_maps // cols)), 2):
            maps.layout.setRowStretchFactor(r, 1)  # the maps take the room, not titles
        result = self.ci.addLayout(row=1, col=0)
        self.bias_label = self._label(result, "", 1, 0, size=14)
        self.pre = self._new_cell(0, 1, -1, layout=result)
        self.pre.name = "pre-activation"
        self.act_label = self._label(result, "", 1, 2, size=14)
        self.feature = self._new_cell(0, 3, -2, colorbar=True, layout=result)
        equal_columns(result, (1, 3))
        result.layout.setRowStretchFactor(1, 1)
        # No map is squeezed away; many kernel maps share what is left.
        side = MIN_MAP if n_maps <= MIN_MAPS_KEPT else MIN_MAP // 2
        for cell in self.cells:
            cell.view.setMinimumSize(side, side)
        self.pre.view.setMinimumSize(MIN_MAP, MIN_MAP)
        self.feature.view.setMinimumSize(MIN_MAP, MIN_MAP)
        # Notes wrap to the panel's width instead of widening (and clipping) the panel.
        self.message = WrappedLabel("", size=self.pt(12), color="#ffcc66", justify="left")
        self.ci.addItem(self.message, row=2, col=0)
        self.ci.layout.setRowStretchFactor(0, 1)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.updateGeometry()

    def show_filter(self, frame, changed_maps=None) -> None:
        """Show the selected filter's kernel maps, sum and feature map; of the kernel
        maps only those in ``changed_maps`` (channel indices) unless it is None."""
        maps = frame.kernel_maps  # (H', W', Cg) or None when the output is empty
        n = len(frame.kernel_channel_names)
        if n != self._key:
            self._build(n)
            self._key = n
            changed_maps = None
        f = frame.selected + 1
        for k, cell in enumerate(self.cells[:n]):
            name = frame.kernel_channel_names[k]
            cell.name = f"kernel map {k + 1} (kernel {k + 1} of filter {f} on {name})"
            cell.set_title(f"kernel {k + 1} on <b>{html.escape(name)}</b><br>→ kernel map {k + 1}")
        b = frame.bias_value
        set_label(
            self.bias_label,
            "+ bias<br>" + (weight_text(b) if b is not None else "(off)") + " =",
            size=self.pt(13),
        )
        # The arrow under the name: the row of results stays narrow on small screens.
        set_label(self.act_label, f"{frame.activation}<br>→", size=self.pt(13))
        if n == 1:
            self.pre.set_title(f"kernel map + bias<br>(pre-activation {f})")
        else:
            self.pre.set_title(f"sum + bias<br>(pre-activation {f})")
        self.feature.name = f"feature map {f}"
        self.feature.set_title(f"<b>feature map {f}</b><br>of filter {f}")
        notes = [html.escape(frame.message).replace("\n", "<br>")] if frame.message else []
        groups = frame.settings.groups
        if groups > 1:
            group = frame.selected // (frame.filters // groups)
            names = html.escape(", ".join(frame.kernel_channel_names))
            notes.append(
                f"groups = {groups}: filter {f} reads only {names} (group {group + 1} of "
                f"{groups});<br>kernel maps of the other channels are NOT summed into it"
            )
        set_label(self.message, "<br>".join(notes), size=self.pt(12), color="#ffcc66")
        if maps is None:
            empty = np.zeros((1, 1), np.float32)
            for cell in self.cells:
                cell.set_image(empty, (-1, 1), diverging_colormap())
            self._update_minimum()
            return
        cmap = diverging_colormap()
        box = frame.output_box
        for k, cell in enumerate(self.cells[:n]):
            if changed_maps is None or k in changed_maps:
                cell.set_image(maps[:, :, k], frame.map_levels, cmap, box)
        f = frame.selected
        self.pre.set_image(frame.pre_activation[:, :, f], frame.map_levels, cmap, box)
        self.feature.set_image(frame.feature_maps[:, :, f], frame.map_levels, cmap, box)
        self._update_minimum()

    def _update_minimum(self) -> None:
        """Labels set after a rebuild can widen the panel's minimum: tell the layouts."""
        hint = self.minimumSizeHint()
        if hint != getattr(self, "_minimum", None):
            self._minimum = hint
            self.updateGeometry()


class FiltersPanel(MapPanel):
    """The feature map of every filter; the selected one is framed; a click selects.

    Maps sit in as many columns as make them largest in the panel's current size, under
    the most explicit title that fits their width.
    """

    filterClicked = QtCore.Signal(int)

    _frame = None  # the frame shown last, shown again when the best columns change
    _layout_key = _layout = None  # best_layout's last arguments and answer

    # Titles from the most to the least explicit; a narrow column takes a shorter one.
    TITLES = (
        "filter {f} → feature map {f}",
        "filter {f}<br>→ feature map {f}",
        "filter {f}",
        "{f}",
    )

    def best_layout(self, n: int, aspect: float) -> tuple[int, int]:
        """(columns, title style) for `n` maps of height/width `aspect` that make the
        maps largest in the panel's size, with the most explicit title that fits."""
        return self.best_fit(n, aspect, self.width(), self.height())[1]

    def best_fit(
        self, n: int, aspect: float, panel_w: int, panel_h: int
    ) -> tuple[float, tuple[int, int]]:
        """(map side, (columns, title style)) for `n` maps in a panel of that size."""
        font = QtGui.QFont(self.font())
        font.setPointSizeF(11 * self.scale)
        metrics = QtGui.QFontMetricsF(font)
        line = metrics.lineSpacing()
        widths = [
            max(metrics.horizontalAdvance(part) for part in ("▶ " + t.format(f=n)).split("<br>"))
            for t in self.TITLES
        ]
        width, height = panel_w - 24, panel_h - 24
        best, choice = -1.0, (1, 0)
        for cols in range(1, n + 1):
            rows = -(-n // cols)
            cell_w = width / cols - 10
            style = next(
                (i for i, w in enumerate(widths) if w * MIN_TITLE_SCALE <= cell_w - 8),
                len(self.TITLES) - 1,
            )
            lines = self.TITLES[style].count("<br>") + 1
            side = min(cell_w, (height / rows - lines * line - 18) / aspect)
            if side > best + 1:  # more columns only for a real gain
                best, choice = side, (cols, style)
        return best, choice

    def minimumSizeHint(self) -> QtCore.QSize:
        n = self._frame.filters if self._frame is not None else 1
        # Two columns, as the strip shares its column; room for titles on two lines.
        return grid_minimum(n, 2 * self.title_line(), 2)

    def _title(self, f: int) -> str:
        return self.TITLES[self._key[1]].format(f=f)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        frame = self._frame
        if frame is not None and self._layout_for(frame) != self._key:
            self.show_filters(frame)
            self.rebuilt.emit()

    def _layout_for(self, frame) -> tuple[int, int]:
        h, w, n = frame.output_shape
        aspect = h / w if h > 0 and w > 0 else 1.0
        key = (n, aspect, self.width(), self.height(), self.scale)
        if self._layout_key != key:  # frames mostly change nothing here
            self._layout_key, self._layout = key, self.best_layout(n, aspect)
        return self._layout

    def show_filters(self, frame, only=None) -> None:
        """Show every filter's feature map, or only those in ``only`` (a set of indices)."""
        self._frame = frame
        n = frame.filters
        key = self._layout_for(frame)
        cols = key[0]
        if key != self._key:
            self._clear()
            equal_columns(self.ci, range(cols))
            self._key = key
        if len(self.cells) != n:
            self.updateGeometry()  # the minimum follows the number of maps
            # Within one column layout, add or drop cells at the end rather than
            # rebuilding them all: building a cell costs milliseconds.
            for cell in self.cells[n:]:
                self.ci.removeItem(cell.title)
                self.ci.removeItem(cell.view)
            del self.cells[n:]
            for f in range(len(self.cells), n):
                cell = self._new_cell(2 * (f // cols), f % cols, f)
                cell.clicked.connect(lambda c, *_: self.filterClicked.emit(c.index))
            only = None
        cmap = diverging_colormap()
        box = frame.output_box
        for cell in self.cells:
            f = cell.index
            if only is not None and f not in only:
                cell.set_highlight(f == frame.selected)
                continue
            cell.name = f"feature map {f + 1}"
            selected = f == frame.selected
            mark = "▶ " if selected else ""
            cell.set_title(mark + self._title(f + 1))
            cell.set_highlight(selected)
            if frame.feature_maps is None:
                cell.set_image(np.zeros((1, 1), np.float32), (-1, 1), cmap)
            else:
                cell.set_image(frame.feature_maps[:, :, f], frame.map_levels, cmap, box)
