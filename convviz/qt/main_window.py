"""The main window: input -> selected filter -> kernel maps -> sum -> all feature maps.

Panels are laid out left to right in the data's own order. The window wires view
intents to the controller and pushes each computed frame to every panel.
"""

from __future__ import annotations

import logging

from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.frames import Frame
from convviz.qt.base.views import HEADER_STYLE
from convviz.qt.control.controller import Controller
from convviz.qt.edit.kernel_editor import KernelEditor
from convviz.qt.edit.layer_bar import install_layer_bar
from convviz.qt.edit.layer_panel import BrushBar, LayerPanel
from convviz.qt.export.animation_menu import install_animation_export
from convviz.qt.export.exports import install_exports
from convviz.qt.export.import_weights import install_weights_import
from convviz.qt.inspection.inspector import install_inspector
from convviz.qt.maps.filter_panels import FiltersPanel, SumPanel
from convviz.qt.maps.panels import InputPanel
from convviz.qt.present.present import install_presentation
from convviz.qt.status_line import install_status_line
from convviz.qt.window_fit import PREFERRED_SIZE, WindowFit
from convviz.qt.window_loading import WindowLoading
from convviz.qt.window_menus import WindowMenus

log = logging.getLogger(__name__)

MESSAGE_MS = 8000  # how long a status message stays


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


class MainWindow(WindowMenus, WindowFit, WindowLoading, QtWidgets.QMainWindow):
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

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

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
