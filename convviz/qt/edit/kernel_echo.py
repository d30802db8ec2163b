"""Showing a filter's values in the kernel editor's cells: only the cells that changed,
and many of them a chunk per turn of the event loop (a mixin of
:class:`~convviz.qt.edit.kernel_editor.KernelEditor`, whose cells and values it uses).
"""

from __future__ import annotations

import numpy as np

from convviz.qt.base.views import diverging_colormap
from convviz.qt.edit.number_cell import NumberCell

# Most cells shown their value in one turn of the event loop: 3 to 5 ms of work, and
# three times that while a training batch keeps both cores busy.
ECHO_CHUNK = 60


class KernelEcho:
    """The echo of the values `KernelEditor.set_filter` was given, into the cells."""

    def _show_values(self, bias: float | None, previous: np.ndarray | None = None) -> None:
        """Show the values; given the ``previous`` ones, only the cells whose value changed
        or that were touched (a brush stroke echoes the same filter on every frame, and a
        typed value changes one cell of up to two thousand, which take 10 ms to visit)."""
        values = self._values
        vmax = self._vmax_override or float(np.abs(values).max(initial=0.0)) or 1.0
        cmap, shown = diverging_colormap(), self._shown_scale
        touched, self._touched = self._touched, set()
        if (
            touched is None
            or previous is None
            or previous.shape != values.shape
            or shown is None
            or shown[0] != vmax
            or shown[1] is not cmap
        ):
            self._shown_scale = (vmax, cmap)
            self._pending.update(dict.fromkeys(self._cells))
            if bias is not None:
                self._bias.show_value(bias, vmax)
            self._echo()
            return
        changed = [tuple(key) for key in np.argwhere(values != previous).tolist()]
        changed += [cell.key for cell in touched if cell.key is not None]
        self._pending.update(dict.fromkeys(sorted(changed, key=lambda rck: (rck[2], *rck[:2]))))
        if bias is not None and (bias != self._bias.value or self._bias in touched):
            self._bias.show_value(bias, vmax)
        self._echo()

    def _echo(self) -> None:
        """Show the pending cells now when they are few (a typed value, a nudge); many (a
        training step, a preset) start on the next turn, a chunk per turn, so the frame
        that changed them is not held up."""
        if len(self._pending) <= ECHO_CHUNK:
            self._show_pending()
        elif self._pending:
            self._pending_timer.start()

    def _show_pending(self) -> None:
        """Show up to ECHO_CHUNK of the cells waiting for their value; the rest follow on
        the next turn of the event loop."""
        pending, values = self._pending, self._values
        if not pending or values is None or self._shown_scale is None:
            return
        vmax = self._shown_scale[0]
        keys = list(pending)[:ECHO_CHUNK]
        for key in keys:
            del pending[key]
            cell = self._cells.get(key)
            if cell is not None:
                cell.show_value(float(values[key]), vmax)
        if pending:
            self._pending_timer.start()

    @property
    def echo_pending(self) -> int:
        """How many cells have not been shown their value yet (see ECHO_CHUNK)."""
        return len(self._pending)

    def finish_echo(self) -> None:
        """Show every cell its value now (before a screenshot, say)."""
        while self._pending:
            self._show_pending()
        self._pending_timer.stop()

    def _touch(self, cell: NumberCell) -> None:
        key = cell.key
        if key in self._pending and self._values is not None and self._shown_scale:
            del self._pending[key]  # typed into or nudged: it must show its value first
            cell.show_value(float(self._values[key]), self._shown_scale[0])
        super()._touch(cell)
