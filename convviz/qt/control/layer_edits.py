"""The network's layers, the controller's part that shows a layer's insides, adds and
removes layers, and undoes a step on the layer it was made on (a mixin of
:class:`~convviz.qt.control.controller.Controller`, whose state it uses).
"""

from __future__ import annotations

from PySide6 import QtCore

from convviz.core.commands import StackCommand
from convviz.core.model import new_conv_layer
from convviz.core.stack import MAX_LAYERS, ConvLayer, PoolLayer, forward, forward_work, shapes


class LayerEdits:
    """Show a layer, add one at the end, remove the last; undo and redo where a step was
    made."""

    def show_layer(self, k: int, then=None) -> bool:
        """Show the insides of layer ``k`` (from 0), then call ``then()``; False, saying
        why, when it has none or nothing to read. Not an undo step: it changes what is
        shown, not the network. When the layers before it are more than
        ``background_work`` multiply-adds, what they make is computed on the worker
        (with progress after half a second) and the layer is shown once it is done."""
        doc = self.doc
        try:
            before = doc.layers_before(k)
        except ValueError as exc:
            self.status.emit(f"{exc}; layer {doc.shown + 1} is still shown")
            return False
        if k != doc.shown:
            self.end_stroke()
            self.end_nudge()
        if (
            k == doc.shown
            or not k
            or forward_work(doc.network_input.shape, before) <= self.background_work
        ):
            doc.show_layer(k)
            self.history.close_merge()
            if then is not None:
                then()
            return True
        x = doc.reader_snapshot()["input"] if doc.shown == 0 else doc.network_input
        version = doc.changes

        def adopt(made, doc):
            if doc.changes != version:  # the network changed meanwhile: again
                QtCore.QTimer.singleShot(0, lambda: self.show_layer(k, then))
                return None
            doc.show_layer(k, made)
            self.history.close_merge()
            if then is not None:
                then()
            return None  # the layer's maps are computed next

        self._start_job(lambda: forward(x, before), adopt, f"Computing layer {k + 1}'s input…")
        return True

    def add_layer(self, kind: str = "conv") -> bool:
        """Append a Conv2D (``kind`` "conv": 4 filters of 3×3, relu, kernels as deep as
        the channels before it; shown next) or a MaxPooling2D (``kind`` "pool", 2×2)
        to the network, as one undo step; False, saying why, when it does not fit."""
        self.end_stroke()
        doc = self.doc
        layers = doc.network_layers()
        if len(layers) >= MAX_LAYERS:
            self.status.emit(f"A network here holds at most {MAX_LAYERS} layers")
            return False
        h, w, c = shapes(doc.network_input.shape, layers)[-1]
        layer = new_conv_layer(c, self.rng) if kind == "conv" else PoolLayer()
        out = layer.output_shape((h, w, c)) if h * w else (0, 0, c)
        if not out[0] * out[1]:
            self.status.emit(
                f"Layer {len(layers)}'s output is {h}×{w}: a {layer.describe()} layer after "
                "it would have nothing left. Use a larger input or a smaller layer first."
            )
            return False
        label = f"Add layer {len(layers) + 1}: {layer.describe()}"
        self.history.close_merge()
        self.history.push(StackCommand(label, (*doc.after, layer)))
        if kind == "conv":
            self.show_layer(len(layers))
        return True

    def remove_last_layer(self) -> bool:
        """Remove the network's last layer (never layer 1), as one undo step; when it is
        the one shown, the Conv2D layer before it is shown first."""
        self.end_stroke()
        layers = self.doc.network_layers()
        if len(layers) == 1:
            self.status.emit("Layer 1 is the network's first layer: it stays")
            return False
        last = len(layers) - 1

        def remove() -> None:
            label = f"Remove layer {last + 1}: {layers[last].describe()}"
            self.history.close_merge()
            self.history.push(StackCommand(label, self.doc.after[:-1]))

        if self.doc.shown == last:
            previous = max(i for i in range(last) if isinstance(layers[i], ConvLayer))
            return self.show_layer(previous, then=remove)
        remove()
        return True

    def undo(self) -> None:
        """Undo the last step, on the layer it was made on (shown first)."""
        self._on_its_layer(self.history.undo_layer, self.history.undo)

    def redo(self) -> None:
        self._on_its_layer(self.history.redo_layer, self.history.redo)

    def _on_its_layer(self, layer: int | None, step) -> None:
        """Run ``step`` (undo or redo) once ``layer``, where it was made, is shown."""
        self.abort_stroke()
        if layer is not None and layer != self.doc.shown:
            self.show_layer(layer, then=step)
        else:
            step()
