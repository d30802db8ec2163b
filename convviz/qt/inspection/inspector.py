"""Make the arithmetic visible: inspect a pixel, slide the window, shapes, code, presenter.

`install_inspector` adds docks, menus and keys to a `MainWindow`. It is the window's
frame view (`MainWindow.set_frame_view`): every computed frame passes through
`Inspector.view_frame`, which applies the view-only options (muted kernels, the
sliding-window animation) before the window shows it, and its overlays follow
`MainWindow.frameShown`. The document is never changed by a view option.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from convviz.core.activations import activate
from convviz.core.explain import (
    filled_count,
    layer_shapes,
    network_shapes,
    partial_maps,
    step_pixel,
)
from convviz.core.overflow import OverflowWatch, overflow_note
from convviz.core.words import count
from convviz.qt.base import views
from convviz.qt.base.colour_maps import COLOUR_MAPS
from convviz.qt.export.code import WeightsExport
from convviz.qt.inspection.docks import (
    AnimationBar,
    CodeDialog,
    VariantsView,
    rich_label,
    scrolled,
)
from convviz.qt.inspection.overlay import draw_numbers, draw_receptive_field
from convviz.qt.inspection.pixel import HINT, InspectedPixel

NUMBERS_MAX_SIDE = 16


class Inspector(InspectedPixel, QtCore.QObject):
    """View state of the inspector (inspected pixel, animation, mutes, presenter options).
    The inspected pixel and the keys (`pixel.py`) are a part of it."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.source = None  # the last frame the controller computed
        self.shown = None  # what the window shows: source with view options applied
        self.target: tuple[int, int, int] | None = None  # (filter, row, col)
        self.pinned = False
        self.arithmetic = None
        self.muted: set[int] = set()
        self.overflow = OverflowWatch()  # which maps hold values beyond float32
        self.numbers = True
        self.cursor_width = 2.0
        self.weights = WeightsExport(window)
        self._muted_key = None
        self._views = []  # other views of the frames, inspected too (add_view)
        self._make_docks()
        self._make_menus()
        c = self.controller
        # The window's one frame route: the controller's frames through the view options
        # (muted kernels, the sliding window), then overlays once the panels show them.
        window.set_frame_view(self._on_frame)
        window.frameShown.connect(self._after_shown)
        for panel in (window.sum_panel, window.filters_panel):
            panel.pixelHovered.connect(self._on_hover)
            panel.pixelClicked.connect(self._on_click)
        window.installEventFilter(self)
        window.filters_panel.rebuilt.connect(self._redraw_over_maps)
        window.input_panel.rebuilt.connect(self._redraw_over_maps)
        window.show_frame(self._on_frame(c.frame or c.refresh_now()))

    # -- docks and menus ------------------------------------------------------------------
    def _dock(self, title, widget, area, name):
        dock = QtWidgets.QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.window.addDockWidget(area, dock)
        return dock

    def _make_docks(self) -> None:
        w, area = self.window, QtCore.Qt.DockWidgetArea
        self.arith_label = rich_label(HINT)
        self.arith_dock = self._dock(
            "Arithmetic of one pixel", scrolled(self.arith_label), area.RightDockWidgetArea, "arith"
        )
        self.anim = AnimationBar()
        self.anim.stepChanged.connect(lambda _s: self._show())
        self.anim_dock = self._dock("Sliding window", self.anim, area.BottomDockWidgetArea, "slide")
        self.anim_dock.visibilityChanged.connect(self._on_anim_dock_shown)
        self.shapes_label = rich_label()
        self.shapes_dock = self._dock(
            "Shapes and parameters",
            scrolled(self.shapes_label),
            area.RightDockWidgetArea,
            "shapes",
        )
        self.variants = VariantsView()
        self.variants_dock = self._dock(
            "Layer variants", scrolled(self.variants), area.RightDockWidgetArea, "variants"
        )
        w.tabifyDockWidget(self.shapes_dock, self.variants_dock)
        self.shapes_dock.raise_()
        self.anim_dock.setMaximumHeight(self.anim.sizeHint().height() + 40)
        self.variants.groupsPicked.connect(self.set_groups)
        self.variants.flipPicked.connect(lambda on: self.controller.change_settings(flip_kernel=on))
        self.variants.mutedChanged.connect(self.set_muted)
        w.resizeDocks([self.arith_dock, self.shapes_dock], [3, 2], QtCore.Qt.Orientation.Vertical)
        # The pipeline itself gets the screen at first; the View menu opens each dock, and
        # pinning a pixel opens its arithmetic.
        for dock in (self.arith_dock, self.anim_dock, self.shapes_dock, self.variants_dock):
            dock.hide()

    def _make_menus(self) -> None:
        w = self.window
        act = QtGui.QAction("Weights as .npy (Keras or PyTorch layout)…", w)
        act.triggered.connect(self.export_dialog)
        w.exports.menu.addAction(act)  # with the other exports, under File → Export
        self.export_weights_action = act
        view = w.view_menu
        self.numbers_action = view.addAction("Numbers on cells")
        self.numbers_action.setCheckable(True)
        self.numbers_action.setChecked(True)
        self.numbers_action.setToolTip(f"values on every pixel of maps up to {NUMBERS_MAX_SIDE}²")
        self.numbers_action.toggled.connect(self.set_numbers)
        cmaps = view.addMenu("Colour map")
        group = QtGui.QActionGroup(cmaps)
        for name, text in COLOUR_MAPS.items():
            a = cmaps.addAction(f"{text} · {name}", lambda n=name: self.set_colour_map(n))
            a.setCheckable(True)
            a.setChecked(name == views.DIVERGING)
            group.addAction(a)
        self.cursor_action = view.addAction("Large pixel cursor")
        self.cursor_action.setCheckable(True)
        self.cursor_action.toggled.connect(self.set_large_cursor)
        view.addSeparator()
        for dock in (self.arith_dock, self.anim_dock, self.shapes_dock, self.variants_dock):
            view.addAction(dock.toggleViewAction())
        self.pin_action = view.addAction("Pin a pixel and show its arithmetic", self.pin_key)
        self.pin_action.setShortcut(QtGui.QKeySequence("Ctrl+I"))
        view.addSeparator()
        view.addAction("Code for this layer…", self.show_code)
        w.help_menu.addAction("Code for this layer…", self.show_code)

    def _on_anim_dock_shown(self, shown: bool) -> None:
        # Closed (its ×, the View menu) while half-filled: show the full maps again. Not
        # when only the window is minimised: the dock is then hidden but not closed.
        if not shown and self.anim_dock.isHidden():
            self.anim.stop()

    # -- frames ---------------------------------------------------------------------------
    def _on_frame(self, frame):
        """A frame from the controller; the frame the window is to show of it."""
        self.source = frame
        self._fresh = True
        key = frame.kernel_channel_names
        if key != self._muted_key:
            self._muted_key, self.muted = key, set()
        h_out, w_out, _ = frame.output_shape
        self.anim.set_steps(h_out * w_out)
        if self.target is not None:
            f, r, c = self.target
            if not (f < frame.filters and r < h_out and c < w_out):
                self.target, self.pinned = None, False
        return self._shown_frame()

    def view_frame(self, frame):
        """The frame with view options applied: muted kernels, the animation step; and a
        note naming the maps whose values exceed float32."""
        if frame.kernel_maps is None:
            return frame
        maps, pre, feature = frame.kernel_maps, frame.pre_activation, frame.feature_maps
        message, f = frame.message, frame.selected
        if self.muted:
            muted = sorted(self.muted)
            maps = np.array(maps)
            maps[..., muted] = 0
            pre, feature = np.array(pre), np.array(feature)
            bias = frame.bias_value or 0.0
            pre[..., f] = maps.sum(axis=2, dtype=np.float32) + np.float32(bias)
            feature[..., f] = activate(frame.activation, pre[..., f])
            names = ", ".join(frame.kernel_channel_names[k] for k in muted)
            message = f"muted: {names} (treated as 0 in the sum shown; weights unchanged)"
        if self.muted:  # maps of the view only: checked whole, and whole again after
            note = overflow_note(maps, pre, feature, f, frame.activation)
            self.overflow.clean = False
        elif frame.finite:  # measured so along with the colour scale
            note = None
            self.overflow.clean = True
        else:
            note = self.overflow.update(
                maps,
                pre,
                feature,
                f,
                frame.activation,
                frame.output_box,
                frame.changed_filters,
                frame.changed_kernel_maps,
            )
        if note is not None:
            message = note if message is None else f"{message}\n{note}"
        if not self.muted and self.anim.step < 0:
            return frame if message == frame.message else replace(frame, message=message)
        step = self.anim.step
        if step >= 0:
            maps, pre, feature = (partial_maps(a, step) for a in (maps, pre, feature))
        return replace(
            frame, kernel_maps=maps, pre_activation=pre, feature_maps=feature, message=message
        )

    def _shown_frame(self):
        """The current frame through the view options: what the window is to show."""
        shown = self.view_frame(self.source)
        if self.muted or self.anim.step >= 0 or not getattr(self, "_fresh", False):
            # Muting or the animation changed maps the controller did not: redraw them all.
            shown = replace(
                shown, weights_changed=True, changed_filters=None, changed_kernel_maps=None
            )
        self._fresh = False
        self.shown = shown
        return shown

    def _show(self) -> None:
        """Show the current frame again through the view options (one of them changed)."""
        if self.source is not None:
            self.window.show_frame(self._shown_frame())

    def _after_shown(self, frame) -> None:
        """The window shows ``frame``: the overlays, numbers and docks follow it."""
        if frame is not self.shown:
            return  # shown past the view options: nothing of the inspector's is on it
        self._mark_pending()
        step = self.anim.step
        if step >= 0 and frame.kernel_maps is not None:
            self.target = (frame.selected, *step_pixel(frame.output_shape[:2], step))
        self._update_arithmetic()
        self._draw_overlays()
        self._draw_numbers()
        self._update_docks()

    def refresh(self) -> None:
        """Show the last frame again (after a view option changed)."""
        self._show()

    # -- drawing over the maps --------------------------------------------------------------
    def add_view(self, view) -> None:
        """Inspect the maps of another view of the frames too (the presentation view).

        Like the window, `view` has ``input_panel``, ``sum_panel`` and ``filters_panel``
        with their ``cells``; it emits ``pixelHovered`` and ``pixelClicked`` as the
        panels do, ``rebuilt`` when its cells are new, and takes the inspected pixel's
        arithmetic in ``show_inspection(arithmetic, pinned)``.
        """
        self._views.append(view)
        view.pixelHovered.connect(self._on_hover)
        view.pixelClicked.connect(self._on_click)
        view.rebuilt.connect(self._redraw_over_maps)

    def _draw_overlays(self) -> None:
        if self.source is not None:
            for view in (self.window, *self._views):
                draw_receptive_field(view, self.source, self.arithmetic, self.cursor_width)
        for view in self._views:
            view.show_inspection(self.arithmetic, self.pinned)

    def _mark_pending(self) -> None:
        """Mark the output pixels the sliding window has not computed yet."""
        frame, step = self.shown, self.anim.step
        count = None
        if frame is not None and step >= 0 and frame.kernel_maps is not None:
            count = filled_count(frame.output_shape[:2], step)
        for view in (self.window, *self._views):
            for cell in view.sum_panel.cells + view.filters_panel.cells:
                cell.set_pending(count)

    def _redraw_over_maps(self) -> None:
        self._mark_pending()
        self._draw_overlays()
        self._draw_numbers()

    def _draw_numbers(self) -> None:
        for view in (self.window, *self._views):
            draw_numbers(view, self.source, self.numbers and NUMBERS_MAX_SIDE)

    # -- docks ------------------------------------------------------------------------------
    def _update_docks(self) -> None:
        frame = self.source
        rows = layer_shapes(frame.input.shape, frame.settings)
        if len(frame.layers) > 1:
            rows += network_shapes(frame.network_input_shape, frame.layers, frame.shown)
        body = "".join(
            f"<tr><td><b>{what}</b></td><td>{value}</td></tr>"
            if what
            else f'<tr><td colspan="2">{value}</td></tr>'
            for what, value in rows
        )
        self.shapes_label.setText(f'<table cellspacing="4">{body}</table>')
        self.variants.show_layer(
            frame.input.shape[2],
            frame.settings.groups,
            frame.settings.flip_kernel,
            frame.kernel_channel_names,
            self.muted,
        )
        h_out, w_out, _ = frame.output_shape
        step = self.anim.step
        if step < 0 or frame.kernel_maps is None:
            self.anim.label.setText(f"{count(h_out * w_out, 'step')}, one per output pixel")
        else:
            r, c = step_pixel((h_out, w_out), step)
            self.anim.label.setText(f"step {step + 1} of {h_out * w_out}: pixel (row {r}, col {c})")

    # -- view options -----------------------------------------------------------------------
    def set_muted(self, muted) -> None:
        """Kernels of the selected filter left out of the sum shown (weights unchanged)."""
        self.muted = set(muted)
        self.refresh()

    def set_groups(self, groups: int) -> None:
        """Change the layer's groups, raising filters to a multiple of it when needed."""
        filters = self.controller.layer_settings().filters
        if filters % groups:
            raised = groups * math.ceil(filters / groups)
            self.controller.change_settings(groups=groups, filters=raised)
            self.window.show_message(
                f"filters raised to {raised} so that groups={groups} divides them"
            )
        else:
            self.controller.change_settings(groups=groups)

    def set_numbers(self, on: bool) -> None:
        self.numbers = on
        self.refresh()

    def set_colour_map(self, name: str) -> None:
        views.set_diverging(name)
        self.refresh()

    def set_large_cursor(self, on: bool) -> None:
        self.cursor_width = 5.0 if on else 2.0
        self._draw_overlays()

    # -- weights and code -------------------------------------------------------------------
    def export_to(self, path, layout: str) -> list | None:
        """Export the weights in ``layout``; on failure say why and return None."""
        return self.weights.export_to(path, layout)

    def export_dialog(self) -> None:
        self.weights.export_dialog()

    def show_code(self) -> CodeDialog:
        """Open the code dialog for the layer as it is now; return it."""
        self.code_dialog = CodeDialog(self.window, self.weights.snippets(), 11)
        self.code_dialog.show()
        return self.code_dialog


def install_inspector(window) -> Inspector:
    """Add the inspector's docks, menus and keys to a MainWindow; return it."""
    window.inspector = Inspector(window)
    return window.inspector


__all__ = ["Inspector", "install_inspector"]
