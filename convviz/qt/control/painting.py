"""Painting, the controller's part that turns brush strokes into the document's pixels
and one undo step per stroke (a mixin of :class:`~convviz.qt.control.controller.Controller`,
whose state it uses: the document, the history, the frames and the job runner).

On a deeper layer of a network the brush paints the network's input, and the shown
layer's input is made again from it (see :meth:`Painting.begin_stroke`).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from convviz.core import brush
from convviz.core.changes import INPUT, box_change
from convviz.core.commands import PaintCommand
from convviz.core.geometry import box_union
from convviz.core.stack import forward, forward_work


class Painting:
    """Brush strokes: begin, move, end (one undo step) or abort (Esc)."""

    # Painting the network's input while a deeper layer is shown makes that layer's input
    # again with every segment up to this many multiply-adds (a few milliseconds), else
    # once the stroke ends, on the worker.
    live_network_work = 20_000_000

    def begin_stroke(
        self, channel: int, row: float, col: float, radius: float, value: float, network=False
    ):
        """Start a stroke on ``channel`` (-1: every channel) at (row, col), on the shown
        layer's input, or with ``network`` on the network's input: the same on layer 1;
        on a deeper layer, whose own input is what the layers before it made (no brush
        paints there), that input is made again as the stroke goes (when the layers
        before are at most ``live_network_work`` multiply-adds; else once it ends)."""
        if self._stroke is not None:
            self.end_stroke()
        doc = self.doc
        on_source = bool(network and doc.shown)
        if doc.shown and not on_source:
            self.status.emit(
                f"This is layer {doc.shown + 1}'s input: what the layers before it made. "
                "Paint on the network's input above it."
            )
            return
        target = doc.network_input
        channels = range(target.shape[2]) if channel < 0 else [channel]
        live = not on_source or (forward_work(target.shape, doc.before) <= self.live_network_work)
        self._stroke = dict(
            channels=list(channels),
            radius=radius,
            value=value,
            last=(row, col),
            memory=brush.StrokeMemory(target),
            box=None,
            network=on_source,
            live=live,
            stale=False,
        )
        self._paint((row, col), (row, col))

    def stroke_to(self, row: float, col: float) -> None:
        if self._stroke is not None:
            self._paint(self._stroke["last"], (row, col))
            self._stroke["last"] = (row, col)

    def _paint(self, p0, p1) -> None:
        st = self._stroke
        target = self.doc.network_input
        st["memory"].before_painting(brush.segment_box(target.shape, p0, p1, st["radius"]))
        box = brush.paint_segment(target, st["channels"], p0, p1, st["radius"], st["value"])
        if box is None:
            return
        st["box"] = box_union([st["box"], box])
        if not st["network"]:
            self.doc.notify({INPUT, box_change(box, st["channels"])})
            return
        self.frames.network_painted(box)
        if st["live"]:
            self.doc.source_changed()  # the shown layer's input, made again
        else:
            st["stale"] = True
            self._push_network()

    def _push_network(self) -> None:
        """A frame in which only the network's input changed."""
        if self.frame is not None:
            self.frame = self.frames.network_only(self.doc, self.frame)
            self.frameReady.emit(self.frame)

    def _gesture_ended(self) -> None:
        """A stroke or a nudge burst ended: let the colour scale shrink to fit again."""
        self._nudging = False
        if self.pipeline.hold:
            self.pipeline.hold = False
            if not self._timer.isActive():
                self._timer.start()
            self._settle_timer.start(0)  # after that refresh: rescale, then resync

    def end_stroke(self) -> None:
        st, self._stroke = self._stroke, None
        self._gesture_ended()
        if st is None or st["box"] is None:
            return
        box = st["box"]
        target = self.doc.network_input if st["network"] else self.doc.input
        old, new = st["memory"].original(box), target[box].copy()
        if np.array_equal(old, new):
            return
        names = self.doc.network_names if st["network"] else self.doc.channel_names
        picked = [names[c] for c in st["channels"]]
        where = "all channels" if len(picked) > 1 else picked[0]
        verb = "Erase" if st["value"] == 0 else "Paint"
        label = f"{verb} on {where}" + (" of the network's input" if st["network"] else "")
        cmd = PaintCommand(label, box, old, new, network=st["network"])
        self.history.push(cmd, applied=True)
        if st["stale"]:
            self._remake_shown_input()

    def _remake_shown_input(self) -> None:
        """Make the shown layer's input again from the painted network input, on the
        worker (the layers before it are heavy)."""
        doc = self.doc
        if doc.source is None:
            return
        x, before, version = doc.source.copy(), doc.before, doc.changes

        def adopt(made, doc):
            if doc.changes != version or doc.source is None:
                QtCore.QTimer.singleShot(0, self._remake_shown_input)
                return None
            doc.source_changed(made)
            return None

        self._start_job(
            lambda: forward(x, before), adopt, f"Computing layer {doc.shown + 1}'s input…"
        )

    def abort_stroke(self) -> None:
        """Esc during a stroke: put the pixels back, record nothing."""
        st, self._stroke = self._stroke, None
        if st is not None and st["box"] is not None:
            if st["network"]:
                self.doc.network_input[st["box"]] = st["memory"].original(st["box"])
                self.frames.network_painted(st["box"])
                if st["live"]:
                    self.doc.source_changed()
                else:
                    self._push_network()
            else:
                self.doc.input[st["box"]] = st["memory"].original(st["box"])
                self.doc.notify({INPUT, box_change(st["box"])})
        self._gesture_ended()

    @property
    def stroking(self) -> bool:
        return self._stroke is not None
