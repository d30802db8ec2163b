"""What the presentation diagram shows, a part of the presentation view: a frame's maps,
kernel numbers, bias, activation and notes in the placed pieces, and the control strip's
readout of the pixel pointed at or inspected, and its messages."""

from __future__ import annotations

import numpy as np

from convviz.core.numbers import format_number
from convviz.qt.base.views import diverging_colormap, tint_colormap
from convviz.qt.present.placement import _bias_text


class Contents:
    """Fills the pieces from the frame, and the strip's readout (a mixin of
    :class:`~convviz.qt.present.present.PresentationView`)."""

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
