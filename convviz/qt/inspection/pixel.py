"""The inspected pixel, the inspector's part that follows the output pixel hovered,
clicked or pinned from the keyboard, shows its arithmetic in the arithmetic dock, and
takes the keys no focused widget took: the arrows move the pinned pixel or step the
sliding window, Space plays it, Esc unpins (a mixin of
:class:`~convviz.qt.inspection.inspector.Inspector`, whose state it uses).
"""

from __future__ import annotations

from PySide6 import QtCore

from convviz.qt.inspection.docks import arithmetic_html

HINT = "Hover over a pixel of a kernel map or feature map to see its arithmetic; click to pin it."


class InspectedPixel:
    """Hover, click, pin, move and unpin the inspected pixel; its arithmetic; the keys."""

    def _cell_filter(self, cell) -> int:
        return cell.index if cell.panel is self.window.filters_panel else self.source.selected

    def _on_hover(self, cell, row, col) -> None:
        if self.pinned or self.anim.step >= 0:
            return
        self.target = None if row < 0 else (self._cell_filter(cell), row, col)
        self._update_inspection()

    def _on_click(self, cell, row, col) -> None:
        if row < 0 or self.anim.step >= 0:
            return
        target = (self._cell_filter(cell), row, col)
        if self.pinned and target == self.target:
            self.unpin()
            return
        self.target, self.pinned = target, True
        if not any(v.isVisible() for v in self._views):  # no dock over the presentation
            self.arith_dock.show()
        self._update_inspection()

    def pin(self, f: int, row: int, col: int) -> None:
        """Pin output pixel (row, col) of filter f."""
        self.target, self.pinned = (f, row, col), True
        self._update_inspection()

    def pin_key(self) -> None:
        """Pin a pixel without a mouse: the hovered one, else the middle of the selected
        filter's feature map; show its arithmetic. The keyboard leaves the kernel cells,
        so the arrow keys move the pixel and Esc unpins it."""
        frame = self.source
        if frame is None or frame.kernel_maps is None:
            self.window.show_message("No pixel to pin: the output is empty")
            return
        if not self.pinned and self.anim.step < 0:
            h_out, w_out, _ = frame.output_shape
            f = self.controller.selected_filter()  # the frame may not show it yet
            self.pin(*(self.target or (f, h_out // 2, w_out // 2)))
        self.arith_dock.show()
        self.arith_dock.raise_()
        self.window.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)

    def new_scene(self) -> None:
        """Another document was opened: no pinned pixel, muted kernel or sliding window."""
        self.anim.set_playing(False)
        self.anim.active.setChecked(False)
        self.muted = set()
        self.target, self.pinned = None, False
        self.refresh()

    def unpin(self) -> None:
        self.target, self.pinned = None, False
        self._update_inspection()

    def move_pin(self, d_row: int, d_col: int) -> None:
        """Move the pinned pixel; left/right walk through the output row by row."""
        if not self.pinned or self.target is None or self.source is None:
            return
        f, r, c = self.target
        h_out, w_out, _ = self.source.output_shape
        index = min(max((r + d_row) * w_out + c + d_col, 0), h_out * w_out - 1)
        if d_row:
            index = min(max(r + d_row, 0), h_out - 1) * w_out + c
        self.target = (f, *divmod(index, w_out))
        self._update_inspection()

    def _update_inspection(self) -> None:
        self._update_arithmetic()
        self._draw_overlays()

    def _update_arithmetic(self) -> None:
        self.arithmetic = None
        frame = self.source
        if self.target is not None and frame is not None and frame.kernel_maps is not None:
            f, r, c = self.target
            muted = self.muted if f == frame.selected else ()
            try:
                self.arithmetic = self.controller.pixel_arithmetic(r, c, f=f, muted=muted)
            except ValueError:
                self.target, self.pinned = None, False
        if self.arithmetic is None:
            self.arith_label.setText(HINT)
            return
        f, r, c = self.target
        if self.anim.step >= 0:
            how = f"sliding window, step {self.anim.step + 1}"
        elif self.pinned:
            how = "pinned: arrows move, click again or Esc unpins"
        else:
            how = "hovered: click to pin"
        where = f"Feature map {f + 1} at (row {r}, col {c}) — {how}"
        self.arith_label.setText(
            arithmetic_html(self.arithmetic, self.controller.channel_names(), where)
        )

    # -- keys -------------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        # Only keys no focused widget took reach the window: kernel cells keep their arrows.
        if obj is not self.window or event.type() != QtCore.QEvent.Type.KeyPress:
            return False
        key, k = event.key(), QtCore.Qt.Key
        animating = self.anim.step >= 0
        if key == k.Key_Space:
            self.anim.toggle()
        elif key in (k.Key_Left, k.Key_Right) and animating:
            self.anim.step_by(-1 if key == k.Key_Left else 1)
        elif key in (k.Key_Left, k.Key_Right, k.Key_Up, k.Key_Down) and self.pinned:
            d = {k.Key_Left: (0, -1), k.Key_Right: (0, 1), k.Key_Up: (-1, 0), k.Key_Down: (1, 0)}
            self.move_pin(*d[key])
        elif key == k.Key_Escape and self.pinned and not self.controller.stroking:
            self.unpin()
        elif key == k.Key_Escape and self.arith_dock.isVisible() and not self.controller.stroking:
            self.arith_dock.hide()  # nothing pinned: the arithmetic has nothing to show
        else:
            return False
        return True
