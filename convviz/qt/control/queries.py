"""Queries, the controller's part that answers what a view asks of the document (a mixin
of :class:`~convviz.qt.control.controller.Controller`, whose document it reads).

Views get what they show from the frames; what a frame does not carry, or what they need
before the next frame is made, they ask here. The answers are plain values, the frozen
settings, and copies or read-only views of arrays, never the document itself; and
`documentChanged` tells a view of each change of the document as it happens, before the
frame that shows it.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from convviz.core.changes import Change
from convviz.core.explain import pixel_arithmetic_of
from convviz.core.model import LayerSettings
from convviz.core.pipeline import Pipeline


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Queries:
    """What the shown layer is now, read without handing out the document."""

    # The document's Change, as soon as it happens (the frame showing it comes later).
    # The controller relays the changes from the first connection to this signal on, so
    # its listeners hear a change after the controller itself has noted it.
    documentChanged = QtCore.Signal(object)

    def connectNotify(self, signal: QtCore.QMetaMethod) -> None:
        super().connectNotify(signal)
        if getattr(self, "_relaying", False):
            return
        if signal == QtCore.QMetaMethod.fromSignal(self.documentChanged):
            self._relaying = True
            self.doc.subscribe(self._relay_change)

    def _relay_change(self, what: Change) -> None:
        self.documentChanged.emit(what)

    # -- the shown layer ------------------------------------------------------------------
    def layer_settings(self) -> LayerSettings:
        """The shown layer's settings (frozen)."""
        return self.doc.settings

    def selected_filter(self) -> int:
        """The selected filter of the shown layer, counted from 0."""
        return self.doc.selected_filter

    def layer_shown(self) -> int:
        """Which layer of the network is shown, counted from 0."""
        return self.doc.shown

    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the shown layer's input."""
        h, w, c = self.doc.input.shape
        return h, w, c

    def channel_names(self) -> tuple[str, ...]:
        """The names of the shown layer's input channels."""
        return self.doc.channel_names

    def input_image(self) -> np.ndarray:
        """The shown layer's input (H, W, C), read-only: a view that follows the document
        as it changes (copy it to keep it)."""
        return _read_only(self.doc.input)

    def output_size(self) -> tuple[int, int]:
        """(H', W') of the shown layer's output (zero or less when it is empty)."""
        return Pipeline.output_size(self.doc)

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the shown layer's kernel (kh, kw, C_in // groups, filters) and bias
        (filters,), the bias kept while ``use_bias`` is off; the caller may change them."""
        return self.doc.kernel.copy(), self.doc.bias.copy()

    def filter_kernels(self, f: int | None = None) -> np.ndarray:
        """The kernels (kh, kw, C_in // groups) of filter ``f``, by default the selected
        one: a read-only copy."""
        doc = self.doc
        kernels = doc.kernel[..., doc.selected_filter if f is None else f].copy()
        kernels.flags.writeable = False
        return kernels

    def pixel_arithmetic(self, row: int, col: int, f: int | None = None, muted=()):
        """The arithmetic of output pixel (row, col) of filter ``f`` (by default the
        selected one), leaving out the ``muted`` kernels: see
        :func:`convviz.core.explain.pixel_arithmetic_of`. ValueError outside the output."""
        return pixel_arithmetic_of(self.doc, row, col, f=f, muted=muted)
