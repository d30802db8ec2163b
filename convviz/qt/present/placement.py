"""Sizing and placing the presentation diagram's pieces, a part of the presentation view.

For the window's size and the frame's kernel the text sizes are measured, :func:`plan
<convviz.qt.present.layout.plan>` says where each piece goes, and the pieces (one row per
kernel shown) are made and put there. The point sizes of the view's text are here too.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.numbers import format_number
from convviz.qt.edit.number_cell import CELL_CHARS
from convviz.qt.maps.panels import BACKGROUND
from convviz.qt.present.layout import MIN_ROW_SIDE, Measures, Plan, plan
from convviz.qt.present.parts import LIGHT, KernelGrid, MapCanvas, _font, _label

# Point sizes at 1280×720; larger screens scale them all (1920×1080: ×1.5).
TEXT_POINTS = 18.0  # kernel numbers and lesson text, the least read from the back row
TITLE_POINTS, OPERATOR_POINTS, LABEL_POINTS = 14.0, 24.0, 16.0
STRIP_POINTS, NOTE_POINTS, BAR_POINTS = 12.0, 13.0, 11.0
BASE_SCREEN = (1280, 720)
# Lesson text sizes, stepped with Ctrl++ / Ctrl+−; they change the band's text only.
TEXT_SIZES = (1.0, 1.25, 1.5, 1.75, 2.0)
BAND_LINES = 3  # lines of lesson text the band keeps at least, under its heading
# Kernel cells are as wide as the filter's widest number needs, and at least this.
MIN_CELL_CHARS = 4
KERNEL_POINTS_TRIED = (1.0, 0.85, 0.7, 0.55, 0.45)  # of TEXT_POINTS, for large kernels


class Placement:
    """Measures, plans and places the diagram's pieces (a mixin of
    :class:`~convviz.qt.present.present.PresentationView`)."""

    def scale(self) -> float:
        """Text and size factor: 1 up to 1280×720, more on larger screens."""
        return max(1.0, min(self.width() / BASE_SCREEN[0], self.height() / BASE_SCREEN[1]))

    def kernel_cells(self) -> list:
        return [cell for row in self._rows for cell in row[2].cells()]

    def _measures(self, kernel_points: float, note_lines: int) -> Measures:
        """The sizes of the diagram's fixed parts for kernel numbers of `kernel_points`,
        with `note_lines` of notes always shown."""
        s = self.scale()
        frame = self.frame
        kh, kw, _ = frame.kernel.shape
        title = QtGui.QFontMetrics(_font(TITLE_POINTS * s)).height() + 2
        label = QtGui.QFontMetrics(_font(LABEL_POINTS * s))
        op = QtGui.QFontMetrics(_font(OPERATOR_POINTS * s, bold=True))
        chars = _cell_chars(frame.kernel)
        kernel = KernelGrid.measure(kh, kw, kernel_points, TITLE_POINTS * s, chars)
        texts = ("+ bias", "no bias", _bias_text(frame.bias_value))
        sum_w = max(label.horizontalAdvance(t) for t in texts) + 8
        act = self.frame.activation
        act_w = max(label.horizontalAdvance(t) for t in (act, "→")) + 8
        line = QtGui.QFontMetrics(_font(NOTE_POINTS * s)).lineSpacing()
        return Measures(
            title=title,
            kernel=(kernel[0] + 4, kernel[1]),
            op=op.horizontalAdvance("∗") + 12,
            join=op.horizontalAdvance("+") + 12,
            sum=(sum_w, 3 * label.lineSpacing() + 4),
            act_line=(act_w, 2 * label.lineSpacing() + 4),
            act_stacked=(label.horizontalAdvance(f"↓ {act}") + 8, label.lineSpacing() + 4),
            bar=QtGui.QFontMetrics(_font(BAR_POINTS * s)).horizontalAdvance("-0.5") + 22,
            note=line * note_lines + 4 if note_lines else 0,
            hidden_note=line + (4 if not note_lines else 0),
            gap=round(8 * s),
            margin=round(8 * s),
        )

    def _ensure_layout(self) -> None:
        frame = self.frame
        kh, kw, cg = frame.kernel.shape
        notes = bool(frame.message) + (frame.settings.groups > 1)
        s = self.scale()
        chars = _cell_chars(frame.kernel)
        bias = _bias_text(frame.bias_value)
        key = (self.width(), self.height(), kh, kw, cg, notes, frame.activation, chars, bias)
        if key == self._layout_key:
            return
        self._layout_key = key
        self.strip.set_points(STRIP_POINTS * s)
        strip_h = self.strip.sizeHint().height()
        self.band.set_points(TEXT_POINTS * s * TEXT_SIZES[self.text_size], TITLE_POINTS * s)
        band_min = self.band.height_for(BAND_LINES)
        room = max(self.height() - strip_h - band_min, 1)
        for _ in range(2):  # again when a note wraps to more lines than were kept for it
            best = None
            for share in KERNEL_POINTS_TRIED:  # smaller numbers only when no row fits
                points = TEXT_POINTS * s * share
                measures = self._measures(points, notes)
                found = plan(self.width(), room, cg, measures, s)
                if found is not None and (best is None or found.smallest > best[0].smallest):
                    best = (found, points, measures)
                if found is not None and found.side >= MIN_ROW_SIDE * s:
                    break
            wrapped = 0 if best is None else self._note_lines(frame, best[0], s)
            if wrapped <= notes:
                break
            notes = wrapped
        if best is None:
            self.plan = None
            self.diagram.plan = None
            self.strip.readout.setText("The window is too small for the presentation view.")
            return
        found, points, measures = best
        top = min(y for _x, y, _w, _h in found.rects.values())
        used = max(y + h for _x, y, _w, h in found.rects.values()) - top + 2 * measures.margin
        if used < room:  # the band takes what the diagram does not need
            again = plan(self.width(), used, cg, measures, s)
            if again is not None and again.rows == found.rows and again.smallest >= found.smallest:
                found, room = again, used
        self.plan = found
        self.diagram.plan = found
        self.strip.setGeometry(0, 0, self.width(), strip_h)
        self.diagram.setGeometry(0, strip_h, self.width(), room)
        self.band.setGeometry(0, strip_h + room, self.width(), self.height() - strip_h - room)
        self._place(found, points, measures, chars)
        self.diagram.update()

    def _note_lines(self, frame, p: Plan, s: float) -> int:
        """Lines the frame's notes take when wrapped in the note's place in plan `p`."""
        notes = [n for n in self._note(frame).split("\n") if not n.startswith("+ ")]
        if "note" not in p.rects or not notes:
            return 0
        metrics = QtGui.QFontMetrics(_font(NOTE_POINTS * s))
        wrap = QtCore.QRect(0, 0, max(p.rects["note"][2], 1), 1 << 20)
        flags = QtCore.Qt.TextFlag.TextWordWrap
        height = sum(metrics.boundingRect(wrap, flags, n).height() for n in notes)
        return -(-height // metrics.lineSpacing())

    def _place(self, p: Plan, points: float, m: Measures, chars: int) -> None:
        s = self.scale()
        rows_key = (p.rows, self.frame.kernel.shape[2])
        if rows_key != self._rows_key:
            self._build_rows(p.rows)
            self._rows_key = rows_key
        title_points = TITLE_POINTS * s
        for r, (inp, op1, grid, op2, kmap) in enumerate(self._rows):
            self._put(inp, p.rects[f"input{r}"], m.title, title_points)
            op1.setGeometry(*p.rects[f"op1_{r}"])
            grid.set_fonts(points, title_points, chars)
            grid.setGeometry(*p.rects[f"kernel{r}"])
            op2.setGeometry(*p.rects[f"op2_{r}"])
            self._put(kmap, p.rects[f"map{r}"], m.title, title_points)
        for r, plus in enumerate(self.pluses):
            x, y, w, h = p.rects[f"plus{r}"]
            plus.setGeometry(x, y + h // 2 - w // 2, w, w)
        for label in (*[w for row in self._rows for w in (row[1], row[3])], *self.pluses):
            label.setFont(_font(OPERATOR_POINTS * s, bold=True))
        for label in (self.sum_label, self.act_label):
            label.setFont(_font(LABEL_POINTS * s))
        self.sum_label.setGeometry(*p.rects["sum"])
        self.act_label.setGeometry(*p.rects["act"])
        self._put(self.pre, p.rects["pre"], m.title, title_points)
        self._put(self.feature, p.rects["feature"], m.title, title_points)
        self.feature.set_bar(m.bar, BAR_POINTS * s)
        self.hidden_note.setFont(_font(NOTE_POINTS * s))
        if "note" in p.rects:
            self.hidden_note.setGeometry(*p.rects["note"])
        else:
            self.hidden_note.setGeometry(0, 0, 0, 0)
        self._fresh = True

    @staticmethod
    def _put(canvas: MapCanvas, rect, title_h: int, title_points: float) -> None:
        size = f"{title_points:.0f}pt"
        canvas.cell.title_size = size  # the next set_title uses it
        canvas.set_title_height(title_h)
        canvas.setGeometry(*rect)

    def _build_rows(self, rows: int) -> None:
        for row in self._rows:
            for widget in row:
                widget.hide()
                widget.deleteLater()
        for plus in self.pluses:
            plus.hide()
            plus.deleteLater()
        self._rows, self.pluses = [], []
        window, c = self.window_, self.controller
        for k in range(rows):
            inp = MapCanvas(k, paint=True, title_points=TITLE_POINTS)
            inp.setParent(self.diagram)
            inp.strokeStarted.connect(lambda _k, y, x, k=k: self._begin_stroke(k, y, x))
            inp.strokeMoved.connect(c.stroke_to)
            inp.strokeFinished.connect(c.end_stroke)
            inp.hovered.connect(self._on_hover_text)
            grid = KernelGrid(k, self.diagram)
            grid.valueEdited.connect(lambda r, col, k, v: c.set_kernel_value(r, col, k, v))
            grid.valueNudged.connect(
                lambda r, col, k, v: c.set_kernel_value(r, col, k, v, nudge=True)
            )
            grid.nudgeFinished.connect(c.end_nudge)
            grid.errorMessage.connect(window.show_message)
            kmap = MapCanvas(k, title_points=TITLE_POINTS)
            kmap.setParent(self.diagram)
            self._connect_map(kmap)
            op1, op2 = (
                _label(self.diagram, OPERATOR_POINTS, bold=True),
                _label(self.diagram, OPERATOR_POINTS, bold=True),
            )
            op1.setText("∗")
            op2.setText("=")
            self._rows.append((inp, op1, grid, op2, kmap))
        for _ in range(rows - 1):
            plus = _label(self.diagram, OPERATOR_POINTS, bold=True)
            plus.setText("+")
            plus.setStyleSheet(f"color: {LIGHT}; background: {BACKGROUND};")
            self.pluses.append(plus)
        cells = [cell for row in self._rows for cell in row[2].cells()]
        for first, second in zip(cells, cells[1:], strict=False):
            QtWidgets.QWidget.setTabOrder(first, second)
        self.input_panel.cells = [row[0].cell for row in self._rows]
        self.sum_panel.cells = [row[4].cell for row in self._rows] + [
            self.pre.cell,
            self.feature.cell,
        ]
        for widget in (w for row in self._rows for w in row):
            widget.show()
        for plus in self.pluses:
            plus.show()

    def _connect_map(self, canvas: MapCanvas) -> None:
        canvas.pixelHovered.connect(self.pixelHovered)
        canvas.pixelClicked.connect(self.pixelClicked)
        canvas.hovered.connect(self._on_hover_text)

    def _begin_stroke(self, k: int, row: float, col: float) -> None:
        channel = self._channels(self.frame)[k]
        # As in the normal view: the brush bar's radius and value, and "all channels".
        self.window_._begin_stroke(channel, row, col)


def _cell_chars(kernel: np.ndarray) -> int:
    """Characters the kernel cells need for the widest number of `kernel`, as cells
    write them."""
    values = np.unique(kernel).tolist()
    widest = max((len(format_number(v, 3, max_chars=CELL_CHARS)) for v in values), default=1)
    return max(MIN_CELL_CHARS, widest)


def _bias_text(bias: float | None) -> str:
    return "" if bias is None else format_number(bias, 3)
