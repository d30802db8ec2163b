"""The main window: input -> selected filter -> kernel maps -> sum -> all feature maps.

Panels are laid out left to right in the data's own order. The window wires view
intents to the controller and pushes each computed frame to every panel.
"""

from __future__ import annotations

import logging

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.frames import Frame
from convviz.core.model import MAX_CHANNELS
from convviz.io.file_names import display_name
from convviz.io.inputs import SUPPORTED_SUFFIXES, InputError, read_input
from convviz.io.model_weights import is_weights_file
from convviz.io.samples import SAMPLES, load_sample
from convviz.io.session import SUFFIX as SESSION_SUFFIX
from convviz.qt.base.plain_text import plain
from convviz.qt.base.views import HEADER_STYLE, ok_cancel
from convviz.qt.control.controller import Controller
from convviz.qt.edit.kernel_editor import KernelEditor
from convviz.qt.edit.layer_bar import install_layer_bar
from convviz.qt.edit.layer_panel import BrushBar, LayerPanel
from convviz.qt.export.animation_menu import install_animation_export
from convviz.qt.export.exports import install_exports
from convviz.qt.export.import_weights import install_weights_import
from convviz.qt.help_dialog import HelpDialog, about_text
from convviz.qt.inspection.inspector import install_inspector
from convviz.qt.maps.panels import FiltersPanel, InputPanel, SumPanel
from convviz.qt.present.present import install_presentation
from convviz.qt.status_line import install_status_line

log = logging.getLogger(__name__)

# Height in pixels each row of maps under the kernel editor gets beyond its minimum
# before the editor is shown whole.
MIN_MAP_HEIGHT = 60
# Width of a side dock when it opens: this share of the window, within these bounds; a
# dock of controls gets their width, up to DOCK_CONTROLS_SHARE of the window.
DOCK_SHARE, DOCK_MIN_WIDTH, DOCK_MAX_WIDTH = 0.26, 250, 560
DOCK_CONTROLS_SHARE = 0.4
MESSAGE_MS = 8000  # how long a status message stays
# Share of the right column, and height in pixels, the filter maps keep above the settings.
STRIP_SHARE, MIN_STRIP_HEIGHT = 0.4, 150
# Many filters take more of the column, so that each map keeps this side in pixels, as
# long as the settings (which scroll) keep SETTINGS_MIN_HEIGHT.
STRIP_MAP_SIDE, SETTINGS_MIN_HEIGHT = 56, 160
# Window size on a first start when the screen has room for it; smaller screens get all
# of their available geometry, maximised.
PREFERRED_SIZE = QtCore.QSize(1600, 900)


def _unbroken(text: str) -> str:
    """``text`` with the spaces after commas non-breaking, so a wrapped title never
    splits a shape such as (64, 64, 3)."""
    return text.replace(", ", ",\u00a0")


def _boxed(title_label: QtWidgets.QLabel, *widgets) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(box)
    lay.setContentsMargins(4, 4, 4, 4)
    title_label.setStyleSheet(HEADER_STYLE)
    title_label.setWordWrap(True)
    lay.addWidget(title_label)
    for w in widgets:
        lay.addWidget(w, 1)
    return box


class NewInputDialog(QtWidgets.QDialog):
    """Size and channel count of a new blank input."""

    def __init__(self, parent=None, shape=(28, 28, 1)):
        super().__init__(parent)
        self.setWindowTitle("New blank input")
        form = QtWidgets.QFormLayout(self)
        self.h, self.w, self.c = (QtWidgets.QSpinBox() for _ in range(3))
        self.h.setRange(3, 1024)
        self.w.setRange(3, 1024)
        self.c.setRange(1, MAX_CHANNELS)
        for box, v in zip((self.h, self.w, self.c), shape, strict=True):
            box.setValue(v)
        form.addRow("height H", self.h)
        form.addRow("width W", self.w)
        form.addRow("channels C_in", self.c)
        buttons = ok_cancel(self)
        form.addRow(buttons)

    def shape(self):
        return self.h.value(), self.w.value(), self.c.value()


class MainWindow(QtWidgets.QMainWindow):
    # Every panel shows this frame now: what draws over the maps follows it.
    frameShown = QtCore.Signal(object)

    def __init__(self, controller: Controller, *, max_side: int = 256):
        super().__init__()
        self._frame_view = None  # see set_frame_view
        self.controller = controller
        self.max_side = max_side
        self.keep_alpha = False
        # Callables asked before the window closes; any returning False cancels the close.
        self.close_guards: list = []
        self.setWindowTitle("convviz — inside a Conv2D layer")
        self.setAcceptDrops(True)
        self.resize(PREFERRED_SIZE)

        self.input_panel = InputPanel()
        # While a deeper layer is shown: the network's own input, which the brush paints,
        # above that layer's input (read-only, what the layers before made of it).
        self.network_panel = InputPanel()
        self.network_panel.min_columns = 2  # it shares the column: its maps side by side
        self.editor = KernelEditor()
        self.sum_panel = SumPanel()
        self.filters_panel = FiltersPanel()
        self.layer_panel = LayerPanel()
        self.brush = BrushBar(self)
        self.addToolBar(self.brush)

        self.input_title = QtWidgets.QLabel()
        self.network_title = QtWidgets.QLabel()
        self.filter_title = QtWidgets.QLabel()
        self.sum_title = QtWidgets.QLabel()
        self.filters_title = QtWidgets.QLabel()
        middle = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        middle.addWidget(_boxed(self.filter_title, self.editor))
        middle.addWidget(_boxed(self.sum_title, self.sum_panel))
        middle.setStretchFactor(0, 0)
        middle.setStretchFactor(1, 1)
        self.middle = middle
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(_boxed(self.filters_title, self.filters_panel))
        layer_box = QtWidgets.QGroupBox("Layer: Conv2D settings")
        # Scrolled rather than squeezed when a narrow column stacks labels over fields.
        settings_scroll = QtWidgets.QScrollArea()
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        settings_scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        settings_scroll.setWidget(self.layer_panel)
        settings_scroll.setMinimumWidth(self.layer_panel.minimumSizeHint().width() + self._bar())
        QtWidgets.QVBoxLayout(layer_box).addWidget(settings_scroll)
        right.addWidget(layer_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.right = right
        self._settings_scroll = settings_scroll
        left = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        left.setChildrenCollapsible(False)  # neither part below its maps' minimum
        self.network_box = _boxed(self.network_title, self.network_panel)
        self.network_box.hide()
        left.addWidget(self.network_box)
        left.addWidget(_boxed(self.input_title, self.input_panel))
        self.left = left
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(right)
        self.splitter.setSizes([330, 900, 370])
        # The columns, or the presentation view in their place.
        self.columns = self.splitter  # what the presentation view takes the place of
        self.central = QtWidgets.QStackedWidget()
        self.central.addWidget(self.splitter)
        self.setCentralWidget(self.central)
        self.splitter.installEventFilter(self)

        install_status_line(self)

        self._make_menus()
        self.exports = install_exports(self)
        self.weights_import = install_weights_import(self)
        self.animation_export = install_animation_export(self)
        self.layer_bar = install_layer_bar(self)
        self._connect()
        controller.refresh_now()
        self.inspector = install_inspector(self)
        self.presentation = install_presentation(self)
        self.help_menu.addSeparator()
        self.help_menu.addAction(self.about_action)  # last, after what the docks add

    # -- wiring ---------------------------------------------------------------------------
    def _connect(self) -> None:
        c = self.controller
        c.frameReady.connect(self._frame_ready)
        c.historyChanged.connect(self._update_undo_actions)
        c.status.connect(self.show_message)
        self.input_panel.strokeStarted.connect(self._begin_stroke)
        self.input_panel.strokeMoved.connect(c.stroke_to)
        self.input_panel.strokeFinished.connect(c.end_stroke)
        self.network_panel.strokeStarted.connect(
            lambda channel, row, col: self._begin_stroke(channel, row, col, network=True)
        )
        self.network_panel.strokeMoved.connect(c.stroke_to)
        self.network_panel.strokeFinished.connect(c.end_stroke)
        self.editor.valueEdited.connect(lambda r, col, k, v: c.set_kernel_value(r, col, k, v))
        self.editor.valueNudged.connect(
            lambda r, col, k, v: c.set_kernel_value(r, col, k, v, nudge=True)
        )
        self.editor.nudgeFinished.connect(c.end_nudge)
        self.editor.biasEdited.connect(c.set_bias)
        self.editor.errorMessage.connect(self.show_message)
        self.filters_panel.filterClicked.connect(c.select_filter)
        self.layer_panel.settingsChanged.connect(lambda d: c.change_settings(**d))
        self.layer_panel.presetRequested.connect(
            lambda name, scope: c.apply_preset(name, scope=scope)
        )
        for panel in (self.input_panel, self.network_panel, self.sum_panel, self.filters_panel):
            panel.hovered.connect(self.hover_label.setText)

    def _begin_stroke(self, channel: int, row: float, col: float, network=False) -> None:
        if self.brush.all_channels():
            channel = -1
        self.controller.begin_stroke(
            channel, row, col, self.brush.radius.value(), self.brush.paint_value(), network
        )

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self.file_menu = bar.addMenu("&File")
        act = file_menu.addAction("&Open input…", self.open_dialog)
        act.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        samples = file_menu.addMenu("&Samples")
        for name, description in SAMPLES.items():
            samples.addAction(f"{name} — {description}", lambda n=name: self.load_sample(n))
        act = file_menu.addAction("&New blank input…", self.new_blank_dialog)
        act.setShortcut(QtGui.QKeySequence.StandardKey.New)
        self.alpha_action = file_menu.addAction("Keep alpha as a channel when loading")
        self.alpha_action.setCheckable(True)
        self.alpha_action.toggled.connect(lambda on: setattr(self, "keep_alpha", on))
        self.quit_separator = file_menu.addSeparator()
        act = file_menu.addAction("&Quit", self.close)
        # The platform's Quit keys; some platforms define none, so Ctrl+Q then.
        quit_keys = QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.Quit)
        act.setShortcuts(quit_keys or [QtGui.QKeySequence("Ctrl+Q")])

        edit = self.edit_menu = bar.addMenu("&Edit")
        self.undo_action = edit.addAction("Undo", self.controller.undo)
        self.undo_action.setShortcuts(QtGui.QKeySequence.StandardKey.Undo)
        self.redo_action = edit.addAction("Redo", self.controller.redo)
        self.redo_action.setShortcuts(QtGui.QKeySequence.StandardKey.Redo)
        self.undo_action.setIconText("Undo")  # the help's name; the text names the edit
        self.redo_action.setIconText("Redo")
        edit.addSeparator()
        brush = edit.addMenu("Brush")
        for action in self.brush.key_actions():
            brush.addAction(action)
        self.clear_menu = edit.addMenu("Clear channel")
        self.fill_menu = edit.addMenu("Fill channel with brush value")
        self._update_undo_actions()

        kernels = self.kernels_menu = bar.addMenu("&Kernels")
        for scope, title in (
            ("filter", "Preset for the selected filter"),
            ("layer", "Preset for all filters"),
        ):
            sub = kernels.addMenu(title)
            for name in self.layer_panel.preset_names():
                sub.addAction(
                    name, lambda n=name, s=scope: self.controller.apply_preset(n, scope=s)
                )
        self.kernel_preset_menu = kernels.addMenu("Preset for one kernel")
        kernels.addSeparator()
        # Alt+arrows: kernel cells keep the plain and Ctrl arrows, Page keys nudge.
        self.next_filter_action = kernels.addAction("Next filter", lambda: self.step_filter(1))
        self.next_filter_action.setShortcut(QtGui.QKeySequence("Alt+Right"))
        self.previous_filter_action = kernels.addAction(
            "Previous filter", lambda: self.step_filter(-1)
        )
        self.previous_filter_action.setShortcut(QtGui.QKeySequence("Alt+Left"))

        self.view_menu = bar.addMenu("&View")
        help_menu = self.help_menu = bar.addMenu("&Help")
        act = help_menu.addAction("convviz &help", self.show_help)
        act.setShortcuts(QtGui.QKeySequence.StandardKey.HelpContents)
        help_menu.addAction("Kernel or filter?", self._explain)
        self.about_action = QtGui.QAction("&About convviz", self)
        self.about_action.triggered.connect(self.show_about)

    def _rebuild_channel_menus(self, frame: Frame) -> None:
        key = (frame.channel_names, frame.kernel_channel_names, frame.selected)
        if getattr(self, "_menu_key", None) == key:
            return
        self._menu_key = key
        for menu, value in ((self.clear_menu, None), (self.fill_menu, "brush")):
            menu.clear()
            for i, name in enumerate(frame.channel_names):
                menu.addAction(name, lambda i=i, v=value: self._fill(i, v))
            menu.addAction("all channels", lambda v=value: self._fill(-1, v))
        self.kernel_preset_menu.clear()
        for k, name in enumerate(frame.kernel_channel_names):
            sub = self.kernel_preset_menu.addMenu(
                f"kernel {k + 1} of filter {frame.selected + 1} (acts on {name})"
            )
            for preset in self.layer_panel.preset_names():
                sub.addAction(
                    preset,
                    lambda p=preset, k=k: self.controller.apply_preset(
                        p, scope="kernel", kernel_index=k
                    ),
                )

    def step_filter(self, delta: int) -> None:
        """Select the next (``delta=1``) or previous (-1) filter, wrapping around."""
        c = self.controller
        c.select_filter((c.selected_filter() + delta) % c.layer_settings().filters)

    def _fill(self, channel: int, value) -> None:
        self.controller.fill_channel(channel, 0.0 if value is None else self.brush.value.value())

    def _update_undo_actions(self) -> None:
        h = self.controller.history
        self.undo_action.setEnabled(h.undo_label is not None)
        self.undo_action.setText(f"Undo {h.undo_label}" if h.undo_label else "Undo")
        self.redo_action.setEnabled(h.redo_label is not None)
        self.redo_action.setText(f"Redo {h.redo_label}" if h.redo_label else "Redo")

    # -- showing a frame ----------------------------------------------------------------------
    def set_frame_view(self, view) -> None:
        """Send the controller's frames through ``view`` (a frame -> the frame to show)
        before :meth:`show_frame`: the inspector's view options, muted kernels and the
        sliding window, are applied there."""
        self._frame_view = view

    def _frame_ready(self, frame: Frame) -> None:
        view = self._frame_view
        self.show_frame(frame if view is None else view(frame))

    def show_frame(self, frame: Frame) -> None:
        """Hand each panel its part of ``frame``; then say so with ``frameShown``, on which
        what draws over the maps (the inspector's overlays) follows."""
        h, w, c = frame.input.shape
        kh, kw, cg = frame.kernel.shape
        f, n = frame.selected + 1, frame.filters
        if frame.shown:
            k = frame.shown + 1
            self.input_title.setText(_unbroken(f"Layer {k}'s input (H, W, C_in) = ({h}, {w}, {c})"))
        else:
            self.input_title.setText(_unbroken(f"Input (H, W, C_in) = ({h}, {w}, {c})"))
        self.filter_title.setText(
            f"The selected filter: {cg} kernel{'s' if cg > 1 else ''}, one per input channel"
            " it reads"
        )
        self.sum_title.setText(
            f"Kernel maps of filter {f}, summed + bias → activation → feature map {f}"
        )
        hout, wout, _ = frame.output_shape
        every = "The only filter" if n == 1 else f"All {n} filters"
        if len(frame.layers) > 1:
            every = f"Layer {frame.shown + 1}: {every[0].lower()}{every[1:]}"
        self.filters_title.setText(
            _unbroken(f"{every} → output (H', W', filters) = ({hout}, {wout}, {n})")
        )
        cin = "C_in" if frame.settings.groups == 1 else "C_in // groups"
        self.shape_label.setText(
            f"kernel tensor (kh, kw, {cin}, filters) = ({kh}, {kw}, {cg}, {n}) · "
            f"parameters {frame.param_count}"
        )
        # Redraw only what this frame changed: painting leaves the kernels alone, and a
        # kernel edit leaves the input and the other filters' maps alone.
        if frame.input_changed:
            self.input_panel.show_input(
                frame.input,
                frame.channel_names,
                frame.input_levels,
                frame.input_box,
                frame.input_channels,
                layer=frame.shown,
            )
        # After the input panel has this frame's input: showing the network's input
        # above it resizes the panel, which lays out again what it holds.
        self._show_network_input(frame)
        self.editor.set_filter(
            frame.kernel, frame.bias_value, frame.selected, n, frame.kernel_channel_names
        )
        # The columns are split again for a new kernel size or number of filters (another
        # layer of a network may have the one and not the other).
        if (frame.kernel.shape, n) != getattr(self, "_editor_shape", None):
            self._editor_shape = (frame.kernel.shape, n)
            QtCore.QTimer.singleShot(0, self.fit_panes)
        changed = frame.changed_filters
        levels_moved = frame.map_levels != getattr(self, "_shown_levels", None)
        self._shown_levels = frame.map_levels
        if levels_moved or changed is None or frame.selected in changed or frame.input_changed:
            # A brush frame names the kernel maps of the channels it painted.
            maps = None if levels_moved else frame.changed_kernel_maps
            self.sum_panel.show_filter(frame, maps)
        self.filters_panel.show_filters(frame, None if levels_moved else changed)
        self.layer_panel.show_settings(frame.settings)
        self._rebuild_channel_menus(frame)
        presentation = getattr(self, "presentation", None)
        if presentation is not None:
            presentation.show_frame(frame)
        self.frameShown.emit(frame)

    def _show_network_input(self, frame: Frame) -> None:
        """The network's input above a deeper layer's; hidden on layer 1 (it is the input)."""
        if frame.network_input is None:
            self.network_box.hide()
            return
        h, w, c = frame.network_input.shape
        self.network_title.setText(_unbroken(f"Network input ({h}, {w}, {c})"))
        self.network_title.setToolTip("Paint here: the layers after it read what you paint")
        if frame.network_changed or self.network_box.isHidden():
            box = None if self.network_box.isHidden() else frame.network_box
            self.network_panel.show_input(
                frame.network_input, frame.network_names, frame.network_levels, box
            )
        # Each part of the column gets what its title and maps need, and the rest in
        # proportion to the images it shows; a dock taking room takes it from both alike.
        counts = (c + (c == 3), frame.input.shape[2])
        if self.network_box.isHidden() or counts != getattr(self, "_left_counts", None):
            self._left_counts = counts
            self.network_box.show()
            total = sum(self.left.sizes()) or self.left.height()
            need = [self._box_height(b) for b in (self.network_box, self.left.widget(1))]
            rest = max(total - sum(need), 0)  # beyond the needs: by the images shown
            top = min(need[0] + rest * counts[0] // sum(counts), total)
            self.left.setSizes([top, total - top])
        # The network's input keeps what its maps and wrapped title need when a dock takes
        # room from the column, as far as the layer's own input keeps its minimum.
        need = [self._box_height(b) for b in (self.network_box, self.left.widget(1))]
        self.network_box.setMinimumHeight(max(min(need[0], self.left.height() - need[1]), 0))

    def _box_height(self, box: QtWidgets.QWidget) -> int:
        """The height a titled panel needs at the column's width: its title, wrapped, and
        its maps at their minimum."""
        title, panel = box.layout().itemAt(0).widget(), box.layout().itemAt(1).widget()
        return (
            title.heightForWidth(max(self.left.width(), 1)) + panel.minimumSizeHint().height() + 12
        )

    def _bar(self) -> int:
        """Width of a scroll bar."""
        return self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)

    def fit_panes(self) -> None:
        """Split the middle and right columns for the room and fonts they have now."""
        self._fit_editor()
        self._fit_settings()

    def _fit_editor(self) -> None:
        """Split the middle column between the kernel editor (it scrolls) and the maps
        below (they cannot). In order: the whole editor if the maps keep
        `MIN_MAP_HEIGHT` more than their minimum per row; else the editor's first row of
        kernels if the maps keep their minimum; else what the maps leave, at least a
        sixth. Never more than half the column."""
        total = sum(self.middle.sizes()) or self.height()
        above = self.middle.widget(0).height() - self.editor.height()  # header, margins
        wanted = above + self.editor.sizeHint().height()
        one_row = above + self.editor.one_row_height()
        labels = self.sum_panel.ci.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).height()
        chrome = self.middle.widget(1).height() - self.sum_panel.height()
        tight = total - chrome - int(labels)  # room left with the maps at their minimum
        comfortable = tight - 2 * MIN_MAP_HEIGHT
        top = max(min(wanted, comfortable), min(one_row, tight), total // 6)
        top = min(top, total // 2)
        self.middle.setSizes([top, max(total - top, 1)])

    def _fit_settings(self) -> None:
        """Show the layer settings whole under the filter maps when that leaves the maps
        `STRIP_SHARE` of the column and `MIN_STRIP_HEIGHT`; otherwise the settings scroll."""
        total = sum(self.right.sizes()) or self.height()
        chrome = self.right.widget(1).height() - self._settings_scroll.viewport().height()
        form = self.layer_panel.layout()
        width = self._settings_scroll.viewport().width()
        height = form.heightForWidth(width) if form.hasHeightForWidth() else -1
        wanted = max(height, self.layer_panel.minimumSizeHint().height()) + chrome
        bottom = max(min(wanted, total - max(int(total * STRIP_SHARE), MIN_STRIP_HEIGHT)), 0)
        frame = self.controller.frame
        panel = self.filters_panel
        if frame is not None and panel.width() > 0:
            h, w, n = frame.output_shape
            aspect = h / w if h > 0 and w > 0 else 1.0
            strip_chrome = self.right.widget(0).height() - panel.height()
            lowest = min(bottom, SETTINGS_MIN_HEIGHT)
            while bottom > lowest:
                room = total - bottom - strip_chrome - self.right.handleWidth()
                if panel.best_fit(n, aspect, panel.width(), room)[0] >= STRIP_MAP_SIDE:
                    break
                bottom = max(bottom - 8, lowest)
        self.right.setSizes([max(total - bottom, 1), bottom])

    def addDockWidget(self, area, dock, *args) -> None:
        # Side docks share one column as tabs: a second dock never takes another slice
        # of the width from the maps, and each gets the column's whole height.
        side = [
            d
            for d in self.findChildren(QtWidgets.QDockWidget)
            if d is not dock and self.dockWidgetArea(d) == area and not d.isFloating()
        ]
        super().addDockWidget(area, dock, *args)
        if side and area in (
            QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
            QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
        ):
            self.tabifyDockWidget(side[0], dock)
        # A dock that opens is the tab shown.
        dock.toggleViewAction().toggled.connect(
            lambda on, d=dock: on and QtCore.QTimer.singleShot(0, d.raise_)
        )
        dock.visibilityChanged.connect(
            lambda visible, d=dock: (
                visible and QtCore.QTimer.singleShot(0, lambda: self._fit_dock(d))
            )
        )

    def _fit_dock(self, dock: QtWidgets.QDockWidget, only_shrink: bool = False) -> None:
        """Give a side dock `DOCK_SHARE` of the window, within bounds, so the pipeline
        keeps most of the screen however wide the dock's contents would like to be.
        With `only_shrink` (the window got smaller) a narrower dock keeps its width."""
        area = self.dockWidgetArea(dock)
        sides = (
            QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
            QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
        )
        if dock.isFloating() or area not in sides or not dock.isVisible():
            return
        width = min(max(round(self.width() * DOCK_SHARE), DOCK_MIN_WIDTH), DOCK_MAX_WIDTH)
        inner = dock.widget()
        if isinstance(inner, QtWidgets.QScrollArea) and inner.widget() is not None:
            # Controls that would be cut off get their width.
            needed = inner.widget().minimumSizeHint().width() + self._bar() + 8
            width = max(width, min(needed, round(self.width() * DOCK_CONTROLS_SHARE)))
        if not only_shrink or dock.width() > width:
            self.resizeDocks([dock], [width], QtCore.Qt.Orientation.Horizontal)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() < event.oldSize().width():
            QtCore.QTimer.singleShot(0, self._shrink_docks)

    def _shrink_docks(self) -> None:
        for dock in self.findChildren(QtWidgets.QDockWidget):
            self._fit_dock(dock, only_shrink=True)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.splitter and event.type() == QtCore.QEvent.Type.Resize:
            # The window or a dock changed the room: refit once the layouts settled.
            QtCore.QTimer.singleShot(0, self.fit_panes)
        return super().eventFilter(watched, event)

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

    # -- fitting the screen ---------------------------------------------------------------
    def _screen_room(self) -> QtCore.QRect:
        """Available geometry of the screen the window is (mostly) on."""
        screen = QtGui.QGuiApplication.screenAt(self.geometry().center()) or self.screen()
        return screen.availableGeometry()

    def _frame_margins(self) -> QtCore.QMargins:
        """The window frame around the client area: measured once the window is shown,
        before that a title bar's height above it."""
        frame, inner = self.frameGeometry(), self.geometry()
        if self.isVisible() and frame != inner:
            return QtCore.QMargins(
                inner.left() - frame.left(),
                inner.top() - frame.top(),
                frame.right() - inner.right(),
                frame.bottom() - inner.bottom(),
            )
        title = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_TitleBarHeight)
        return QtCore.QMargins(0, title, 0, 0)

    def fit_to_screen(self) -> None:
        """A first start: `PREFERRED_SIZE` centred on the screen, or, on a screen with
        less room, all of its available geometry, maximised."""
        room, margins = self._screen_room(), self._frame_margins()
        state = self.windowState() & ~QtCore.Qt.WindowState.WindowMaximized
        frame = QtCore.QRect(QtCore.QPoint(), PREFERRED_SIZE).marginsAdded(margins)
        if frame.width() > room.width() or frame.height() > room.height():
            self.setGeometry(room.marginsRemoved(margins))  # the size when un-maximised
            self.setWindowState(state | QtCore.Qt.WindowState.WindowMaximized)
        else:
            self.setWindowState(state)
            self.resize(PREFERRED_SIZE)
            frame.moveCenter(room.center())
            self.move(frame.topLeft())
        self._check_when_shown = not self.isVisible()

    def keep_on_screen(self) -> None:
        """Clamp a restored geometry to the screen it is on now: a window too large for
        it is fitted as on a first start, one partly off it is moved onto it. Before the
        window is shown its frame is a guess, so it is checked again once shown."""
        self._check_when_shown = not self.isVisible()
        if self.windowState() & (
            QtCore.Qt.WindowState.WindowMaximized | QtCore.Qt.WindowState.WindowFullScreen
        ):
            return  # the platform fits these to the screen
        room = self._screen_room()
        frame = self.geometry().marginsAdded(self._frame_margins())
        if frame.width() > room.width() or frame.height() > room.height():
            self.fit_to_screen()
            return
        x = min(max(frame.left(), room.left()), room.right() + 1 - frame.width())
        y = min(max(frame.top(), room.top()), room.bottom() + 1 - frame.height())
        if (x, y) != (frame.left(), frame.top()):
            self.move(x, y)

    def start_at_size(self, width: int, height: int) -> None:
        """The size asked for on the command line: it wins over fitting the screen."""
        self.setWindowState(self.windowState() & ~QtCore.Qt.WindowState.WindowMaximized)
        self.resize(width, height)
        self._check_when_shown = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_check_when_shown", False):
            self._check_when_shown = False
            QtCore.QTimer.singleShot(0, self.keep_on_screen)  # once the frame is known

    # -- loading --------------------------------------------------------------------------
    def load_path(self, path) -> bool:
        """Load an image or array, or import a model file's weights; on failure show why
        and keep the current work."""
        sessions = getattr(self, "sessions", None)
        if sessions is not None and str(path).lower().endswith(SESSION_SUFFIX):
            return sessions.open_session(path)
        if is_weights_file(path):
            return self.weights_import.import_path(path)
        try:
            loaded = read_input(
                path,
                max_side=self.max_side,
                keep_alpha=self.keep_alpha,
                settings=self.controller.layer_settings(),
            )
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open this file", plain(exc))
            return False
        self._set_loaded(loaded, f"Open {display_name(path)}")
        return True

    def load_sample(self, name: str) -> bool:
        try:
            loaded = load_sample(name)
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open this sample", plain(exc))
            return False
        self._set_loaded(loaded, f"Sample {name}")
        return True

    def _set_loaded(self, loaded, label: str) -> None:
        self.controller.set_input(loaded.array, loaded.channel_names, label=label)
        if loaded.notice:
            self.show_message(loaded.notice)

    def open_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in SUPPORTED_SUFFIXES)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open an image or array", "", f"Images and arrays ({patterns});;All files (*)"
        )
        if path:
            self.load_path(path)

    def new_blank_dialog(self) -> None:
        dialog = NewInputDialog(self, self.controller.input_shape())
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.controller.new_blank(*dialog.shape())

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.load_path(urls[0].toLocalFile())
            event.acceptProposedAction()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        # Esc: a stroke is cancelled first; a pinned pixel, the inspector unpins before
        # the key gets here; then the presentation view is left.
        if event.key() == QtCore.Qt.Key.Key_Escape:
            if self.controller.stroking:
                self.controller.abort_stroke()
                return
            if self.presentation.active:
                self.presentation.leave()
                return
        super().keyPressEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        for guard in self.close_guards:
            if not guard():
                event.ignore()
                return
        super().closeEvent(event)

    def show_help(self) -> HelpDialog:
        self.help_dialog = HelpDialog(self)
        self.help_dialog.show()
        return self.help_dialog

    def show_about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About convviz", about_text())

    def _explain(self) -> None:
        QtWidgets.QMessageBox.information(
            self,
            "Kernel or filter?",
            "A kernel is one kh×kw matrix that slides over ONE input channel.\n\n"
            "A filter is the stack of C_in kernels, one per input channel; their C_in kernel "
            "maps are summed, the bias is added and the activation applied, giving ONE "
            "feature map.\n\nConv2D(filters, kernel_size) has `filters` such filters: the "
            "output has shape (H', W', filters) and the kernel tensor (kh, kw, C_in, filters).",
        )
