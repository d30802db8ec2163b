"""The presentation view: the selected filter's pipeline as one diagram for the back row.

*View › Present* (F5) or ``--present`` puts this view in place of the window's columns,
full screen, with the menus, toolbar, status bar and docks out of the way; Esc or F5
brings them back as they were. The diagram reads left to right, one row per kernel:
input channel ∗ kernel = kernel map, the kernel maps joined by "+", then + bias =
pre-activation → activation → feature map (see :mod:`convviz.qt.present.layout`). Its
maps take the room; the text grows with the screen, never below `TEXT_POINTS` for the
kernel numbers and the lesson. Painting, editing kernel numbers, hovering and pinning
work as in the normal view; frames arrive through ``MainWindow.show_frame``, so muted
kernels and the sliding window show here too.

Keys in the presentation view:

- Page Down / Page Up: next / previous lesson (a presenter's clicker), even while a
  kernel cell has the focus: the clicker never nudges a number by accident (the wheel,
  a drag or typing still edit it).
- F / Shift+F, 1 to 9: next / previous filter, filter n.
- Space, arrows: the sliding window and the pinned pixel, as in the normal view.
- Ctrl++ / Ctrl+−: larger / smaller lesson text (the maps keep their size).
- Esc: unpin the pixel first, then leave.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.numbers import format_number
from convviz.qt.base.safe_paint import never_raises
from convviz.qt.base.views import diverging_colormap, tint_colormap
from convviz.qt.edit.number_cell import CELL_CHARS
from convviz.qt.maps.panels import BACKGROUND
from convviz.qt.present.layout import MIN_ROW_SIDE, Measures, Plan, plan
from convviz.qt.present.parts import (
    LIGHT,
    NOTE,
    ControlStrip,
    KernelGrid,
    LessonBand,
    MapCanvas,
)
from convviz.qt.sessions.lesson_dock import LessonDock

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


class _Cells:
    """The map cells of one kind, as the inspector's overlays find them on a panel."""

    def __init__(self):
        self.cells: list = []


def _font(points: float, bold=False) -> QtGui.QFont:
    font = QtGui.QFont(QtWidgets.QApplication.font())
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


def _label(parent, points: float, colour=LIGHT, bold=False) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(parent)
    label.setFont(_font(points, bold))
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet(f"color: {colour}; background: transparent;")
    return label


class Diagram(QtWidgets.QWidget):
    """The canvas the diagram's pieces sit on; it draws the lines joining the kernel maps."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(BACKGROUND))
        self.setPalette(palette)
        self.plan: Plan | None = None

    @never_raises
    def paintEvent(self, event) -> None:
        p = self.plan
        if p is None or not p.joints:
            return
        painter = QtGui.QPainter(self)
        painter.setPen(QtGui.QPen(QtGui.QColor(LIGHT), 2))
        if p.route:  # "wrapped": from the "+" column down to the sum on the line below
            x_line = p.route[0][0]
            for x, y in p.joints:
                painter.drawLine(x + 4, y, x_line, y)
            painter.drawLine(x_line, p.joints[0][1], x_line, p.joints[-1][1])
            painter.drawPolyline([QtCore.QPoint(x, y) for x, y in p.route])
            painter.end()
            return
        x_line = p.sum_point[0] - p.rects.get("plus0", (0, 0, 12, 0))[2] // 2
        for x, y in p.joints:
            painter.drawLine(x + 4, y, x_line, y)
        top = min(p.joints[0][1], p.sum_point[1])
        bottom = max(p.joints[-1][1], p.sum_point[1])
        painter.drawLine(x_line, top, x_line, bottom)
        painter.drawLine(x_line, p.sum_point[1], p.sum_point[0] + 4, p.sum_point[1])
        painter.end()


class PresentationView(QtWidgets.QWidget):
    """The presentation view of `window` (a MainWindow); :func:`install_presentation`
    makes it. ``active`` while it is shown."""

    pixelHovered = QtCore.Signal(object, int, int)
    pixelClicked = QtCore.Signal(object, int, int)
    rebuilt = QtCore.Signal()  # new cells outside a frame: overlays must be redrawn
    modeChanged = QtCore.Signal()  # entered, left, or the window's full screen changed

    def __init__(self, window):
        super().__init__()
        self.window_ = window
        self.controller = window.controller
        self.active = False
        self.frame = None
        self.text_size = 0  # index into TEXT_SIZES
        self.text_sizes = TEXT_SIZES  # what a saved preference may choose from
        self.plan: Plan | None = None
        self.input_panel, self.sum_panel, self.filters_panel = _Cells(), _Cells(), _Cells()
        self._rows: list[tuple] = []  # (input canvas, ∗, kernel grid, =, kernel-map canvas)
        self._layout_key = None
        self._rows_key = None
        self._fresh = True  # new canvases: the next frame redraws every map
        self._hover_text = ""
        self._inspection = None
        self._saved = None
        self._added_actions: list[QtGui.QAction] = []
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)

        self.strip = ControlStrip(self)
        self.diagram = Diagram(self)
        self.band = LessonBand(self)
        self.band.stepRequested.connect(self.step_lesson)
        self.pre = MapCanvas(-1, title_points=TITLE_POINTS)
        self.feature = MapCanvas(-2, colorbar=True, title_points=TITLE_POINTS)
        self.sum_label = _label(self.diagram, LABEL_POINTS)
        self.act_label = _label(self.diagram, LABEL_POINTS)
        self.hidden_note = _label(self.diagram, NOTE_POINTS, NOTE)
        self.hidden_note.setWordWrap(True)
        self.hidden_note.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
        self.pluses: list[QtWidgets.QLabel] = []
        for canvas in (self.pre, self.feature):
            canvas.setParent(self.diagram)
            self._connect_map(canvas)
        self.message_timer = QtCore.QTimer(self, singleShot=True)
        self.message_timer.timeout.connect(lambda: self.strip.message.setText(""))

        s = self.strip
        s.previous_filter.clicked.connect(lambda: self.step_filter(-1))
        s.next_filter.clicked.connect(lambda: self.step_filter(1))
        s.play.clicked.connect(self._toggle_play)
        s.smaller.clicked.connect(lambda: self.set_text_size(self.text_size - 1))
        s.larger.clicked.connect(lambda: self.set_text_size(self.text_size + 1))
        s.leave.clicked.connect(self.leave)
        for key, delta in ((QtCore.Qt.Key.Key_PageDown, 1), (QtCore.Qt.Key.Key_PageUp, -1)):
            # A shortcut, so that it wins over a focused kernel cell's Page keys.
            action = QtGui.QAction(self)
            action.setShortcut(QtGui.QKeySequence(key))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, d=delta: self.step_lesson(d))
            self.addAction(action)  # active only while this view is shown
        window.installEventFilter(self)

    # -- frames ---------------------------------------------------------------------------
    def show_frame(self, frame) -> None:
        """Show `frame` (what the window shows) when active; keep it for later otherwise."""
        self.frame = frame
        if self.active:
            self._update()

    def _update(self) -> None:
        frame = self.frame
        if frame is None:
            return
        self._ensure_layout()
        if self.plan is None:
            return
        fresh, self._fresh = self._fresh, False
        f, n = frame.selected, frame.filters
        layer = f"Layer {frame.shown + 1} · " if len(frame.layers) > 1 else ""
        self.strip.filter_label.setText(f"{layer}Filter {f + 1} of {n}")
        self.strip.previous_filter.setEnabled(f > 0)
        self.strip.next_filter.setEnabled(f < n - 1)
        self._show_playing()  # Space plays too
        vmax = float(np.abs(frame.kernel).max(initial=0.0)) or 1.0
        cmap = diverging_colormap()
        maps = frame.kernel_maps
        in_box = None if fresh else frame.input_box
        out_box = None if fresh else frame.output_box
        channels = self._channels(frame)
        for k, (inp, _op1, grid, _op2, kmap) in enumerate(self._rows):
            name = frame.kernel_channel_names[k]
            inp.cell.name = f"input channel {name}"
            inp.cell.set_title(f"<b>{name}</b> · channel {channels[k] + 1}")
            if fresh or frame.input_changed:
                data = frame.input[:, :, channels[k]]
                inp.cell.set_image(data, frame.input_levels, tint_colormap(name), in_box)
            # A long name ("map 1 of layer 1") stays beside the input: the channel here.
            on = name if len(name) <= 8 else f"channel {channels[k] + 1}"
            grid.set_kernel(frame.kernel[:, :, k], vmax, f"kernel {k + 1} · on {on}")
            kmap.cell.name = f"kernel map {k + 1} (kernel {k + 1} of filter {f + 1} on {name})"
            kmap.cell.set_title(f"kernel map {k + 1}")
            self._set_map(kmap.cell, None if maps is None else maps[:, :, k], frame, cmap, out_box)
        bias = frame.bias_value
        self.sum_label.setText(
            f"+ bias\n{_bias_text(bias)}\n=" if bias is not None else "no bias\n="
        )
        act = frame.activation
        self.act_label.setText(f"↓ {act}" if self.plan.arrangement == "stacked" else f"{act}\n→")
        self.pre.cell.name = f"pre-activation {f + 1}"
        self.pre.cell.set_title("pre-activation")
        pre = None if maps is None else frame.pre_activation[:, :, f]
        self._set_map(self.pre.cell, pre, frame, cmap, out_box)
        self.feature.cell.name = f"feature map {f + 1}"
        self.feature.cell.set_title(f"<b>feature map {f + 1}</b>")
        feature = None if maps is None else frame.feature_maps[:, :, f]
        self._set_map(self.feature.cell, feature, frame, cmap, out_box)
        self.hidden_note.setText(self._note(frame))
        self.hidden_note.setVisible(bool(self.hidden_note.text()))
        if fresh:
            self.rebuilt.emit()

    @staticmethod
    def _set_map(cell, data, frame, cmap, box) -> None:
        if data is None:
            cell.set_image(np.zeros((1, 1), np.float32), (-1, 1), cmap)
        else:
            cell.set_image(data, frame.map_levels, cmap, box)

    @staticmethod
    def _channels(frame) -> range:
        cg = frame.kernel.shape[2]
        group = frame.selected // max(frame.filters // frame.settings.groups, 1)
        return range(group * cg, (group + 1) * cg)

    def _note(self, frame) -> str:
        """What the diagram does not show, and notes the frame carries."""
        notes = []
        cg, shown = frame.kernel.shape[2], len(self._rows)
        if shown < cg:
            names = frame.kernel_channel_names
            rest = f"{names[shown]}" if cg - shown == 1 else f"{names[shown]} … {names[-1]}"
            notes.append(
                f"+ {cg - shown} more kernel{'s' if cg - shown > 1 else ''} (on {rest}) "
                "in the sum, not shown here: Esc shows them all"
            )
        if frame.message:
            notes.append(frame.message)
        if frame.settings.groups > 1:
            notes.append(f"groups = {frame.settings.groups}: this filter reads only its group")
        return "\n".join(notes)

    # -- layout ---------------------------------------------------------------------------
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

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.active and self.frame is not None:
            self._update()
            self.rebuilt.emit()

    # -- what the mouse points at, messages -------------------------------------------------
    def _on_hover_text(self, text: str) -> None:
        self._hover_text = text
        self._show_readout()

    def show_inspection(self, arithmetic, pinned: bool) -> None:
        """The inspected pixel's arithmetic, one line: kernel maps + bias → feature map."""
        self._inspection = (arithmetic, pinned) if arithmetic is not None else None
        self._show_readout()

    def _show_readout(self) -> None:
        text = self._hover_text
        if self._inspection is not None and self.frame is not None:
            a, pinned = self._inspection
            names = self.frame.channel_names
            terms = " + ".join(
                f"{names[part.channel]} {format_number(part.total, 3)}" for part in a.channels
            )
            bias = "" if a.bias is None else f" + bias {format_number(a.bias, 3)}"
            text = (
                f"feature map {a.filter + 1} (row {a.row}, col {a.col}): {terms}{bias} = "
                f"{format_number(a.pre_activation, 3)} → {a.activation} → "
                f"{format_number(a.value, 3)}"
                + (" · pinned: arrows move, Esc unpins" if pinned else "")
            )
        self.strip.readout.setText(text)

    def show_message(self, text: str) -> None:
        self.strip.message.set_limit(self.width() // 3)
        self.strip.message.setText(text)
        self.message_timer.start(8000)  # as long as the status bar shows it

    # -- lessons, filters, text size -------------------------------------------------------
    def _lesson_dock(self) -> LessonDock | None:
        return self.window_.findChild(LessonDock)

    def _show_lesson(self) -> None:
        dock = self._lesson_dock()
        if dock is None:
            self.band.show_lesson(None, "", False, False)
            return
        self.band.show_lesson(
            dock.markdown,
            dock.position.text(),
            dock.previous_button.isEnabled(),
            dock.next_button.isEnabled(),
        )

    def step_lesson(self, delta: int) -> None:
        """Previous (-1) or next (+1) lesson, as the lesson dock's buttons."""
        dock = self._lesson_dock()
        if not self.active or dock is None:
            return
        button = dock.next_button if delta > 0 else dock.previous_button
        if button.isEnabled():
            dock.stepRequested.emit(delta)

    def step_filter(self, delta: int) -> None:
        frame = self.frame
        if frame is not None and 0 <= frame.selected + delta < frame.filters:
            self.controller.select_filter(frame.selected + delta)

    def set_text_size(self, index: int) -> None:
        """Lesson text size, one of `TEXT_SIZES`: the band's text, never the maps."""
        self.text_size = min(max(index, 0), len(TEXT_SIZES) - 1)
        s = self.scale()
        self.band.set_points(TEXT_POINTS * s * TEXT_SIZES[self.text_size], TITLE_POINTS * s)

    def _toggle_play(self) -> None:
        inspector = getattr(self.window_, "inspector", None)
        if inspector is not None:
            inspector.anim.toggle()
        self._show_playing()

    def _show_playing(self) -> None:
        inspector = getattr(self.window_, "inspector", None)
        playing = inspector is not None and inspector.anim.play.isChecked()
        with QtCore.QSignalBlocker(self.strip.play):
            self.strip.play.setChecked(playing)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key, k = event.key(), QtCore.Qt.Key
        if key == k.Key_F:
            shift = event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier
            self.step_filter(-1 if shift else 1)
        elif int(k.Key_1) <= int(key) <= int(k.Key_9) and self.frame is not None:
            f = int(key) - int(k.Key_1)
            if f < self.frame.filters:
                self.controller.select_filter(f)
        else:
            super().keyPressEvent(event)  # ignored: on to the window (Space, arrows, Esc)

    # -- entering and leaving ----------------------------------------------------------------
    def enter(self) -> None:
        """Show the presentation view full screen; the normal view's state is kept."""
        if self.active:
            return
        w = self.window_
        self._saved = {
            "state": w.saveState(),
            "window": w.windowState(),
            "shown": [
                bar
                for kind in (QtWidgets.QDockWidget, QtWidgets.QToolBar)
                for bar in w.findChildren(kind)
                if bar.isVisibleTo(w)
            ],
        }
        dock = self._lesson_dock()
        if dock is not None:
            dock.held = True
            dock.changed.connect(self._show_lesson, QtCore.Qt.ConnectionType.UniqueConnection)
        for bar in self._saved["shown"]:
            bar.hide()
        # Menu shortcuts (undo, save, ...) stay on while the menu bar is hidden.
        own = set(w.actions())
        self._added_actions = [a for a in _menu_actions(w.menuBar()) if a not in own]
        w.addActions(self._added_actions)
        w.menuBar().hide()
        w.statusBar().hide()
        self.active = True
        w.central.setCurrentWidget(self)
        self._layout_key = None
        self._fresh = True
        self._show_lesson()
        self.set_text_size(self.text_size)
        w.setWindowState(
            (w.windowState() & ~QtCore.Qt.WindowState.WindowMinimized)
            | QtCore.Qt.WindowState.WindowFullScreen
        )
        self._update()
        self.rebuilt.emit()
        self.setFocus()
        self.modeChanged.emit()

    def leave(self) -> None:
        """Back to the normal view as it was, with what changed meanwhile."""
        if not self.active:
            return
        w, saved = self.window_, self._saved
        self.active = False
        w.central.setCurrentWidget(w.columns)
        for action in self._added_actions:
            w.removeAction(action)
        self._added_actions = []
        w.menuBar().show()
        w.statusBar().show()
        w.restoreState(saved["state"])
        for bar in saved["shown"]:
            bar.show()
        dock = self._lesson_dock()
        if dock is not None:
            dock.held = False
            dock.setVisible(bool(dock.markdown))
        inspector = getattr(w, "inspector", None)
        if inspector is not None and inspector.pinned:
            inspector.arith_dock.show()
        w.setWindowState(saved["window"])
        QtCore.QTimer.singleShot(0, w.fit_panes)
        self.modeChanged.emit()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window_ and event.type() == QtCore.QEvent.Type.WindowStateChange:
            self.modeChanged.emit()
        return False


def _cell_chars(kernel: np.ndarray) -> int:
    """Characters the kernel cells need for the widest number of `kernel`, as cells
    write them."""
    values = np.unique(kernel).tolist()
    widest = max((len(format_number(v, 3, max_chars=CELL_CHARS)) for v in values), default=1)
    return max(MIN_CELL_CHARS, widest)


def _bias_text(bias: float | None) -> str:
    return "" if bias is None else format_number(bias, 3)


def _menu_actions(menu_bar: QtWidgets.QMenuBar) -> list[QtGui.QAction]:
    """Every action under the menu bar that has a shortcut."""
    found, menus = [], [a.menu() for a in menu_bar.actions() if a.menu() is not None]
    while menus:
        menu = menus.pop()
        for action in menu.actions():
            if action.menu() is not None:
                menus.append(action.menu())
            elif not action.shortcut().isEmpty():
                found.append(action)
    return found


def install_presentation(window) -> PresentationView:
    """Add the presentation view and its View menu entries to `window`; return the view.

    The entries: Present (F5), Full screen (the platform's key and F11), larger and
    smaller presentation text (the platform's zoom keys). They stay on the window while
    the presentation hides the menu bar.
    """
    view = PresentationView(window)
    window.central.addWidget(view)
    menu = window.view_menu
    first = menu.actions()[0] if menu.actions() else None

    def add(text, slot, keys, checkable=False) -> QtGui.QAction:
        action = QtGui.QAction(text, window)
        action.setShortcuts(keys)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        menu.insertAction(first, action)
        window.addAction(action)
        return action

    present = add(
        "Present (the selected filter, full screen)",
        lambda on: view.enter() if on else view.leave(),
        [QtGui.QKeySequence("F5")],
        checkable=True,
    )
    full_keys = QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.FullScreen)
    if QtGui.QKeySequence("F11") not in full_keys:
        full_keys.append(QtGui.QKeySequence("F11"))
    full = add("Full screen", lambda on: _set_full_screen(window, on), full_keys, True)
    larger = add(
        "Larger presentation text",
        lambda: _step_text(window, view, 1),
        QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.ZoomIn),
    )
    smaller = add(
        "Smaller presentation text",
        lambda: _step_text(window, view, -1),
        QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.ZoomOut),
    )
    menu.insertSeparator(first)

    def sync() -> None:
        for action, on in ((present, view.active), (full, window.isFullScreen())):
            with QtCore.QSignalBlocker(action):
                action.setChecked(on)

    view.modeChanged.connect(sync)
    window.present_action, window.full_screen_action = present, full
    window.larger_text_action, window.smaller_text_action = larger, smaller
    window.statusBar().messageChanged.connect(view.show_message)
    inspector = getattr(window, "inspector", None)
    if inspector is not None:
        inspector.add_view(view)
    # The frame the window shows now; later ones come through MainWindow.show_frame.
    view.frame = getattr(inspector, "shown", None) or window.controller.frame
    return view


def _set_full_screen(window, on: bool) -> None:
    state = window.windowState()
    full = QtCore.Qt.WindowState.WindowFullScreen
    window.setWindowState(state | full if on else state & ~full)


def _step_text(window, view: PresentationView, delta: int) -> None:
    view.set_text_size(view.text_size + delta)
    if not view.active:
        size = TEXT_SIZES[view.text_size]
        window.show_message(f"Presentation text {size:.0%} (View › Present, F5, shows it)")
