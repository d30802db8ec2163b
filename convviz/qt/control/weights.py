"""Weights, the controller's part that edits the shown layer's kernel values, bias and
presets, shows weights as they change (a training run) and replaces the layer's weights
(an import) (a mixin of :class:`~convviz.qt.control.controller.Controller`, whose state
it uses), and `WeightsPreview`, the handle `Weights.preview` makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from convviz.core.changes import INPUT, SETTINGS, WEIGHTS, filter_change
from convviz.core.commands import SetBias, SetKernelValue, WeightsRun, state_command
from convviz.core.model import MAX_FILTERS, MAX_KERNEL, Document, default_channel_names
from convviz.core.presets import filter_preset, glorot_uniform

if TYPE_CHECKING:
    from convviz.qt.control.controller import Controller


class Weights:
    """Kernel values, the bias and presets; previews of weights as they change; a layer's
    weights replaced as one undo step."""

    def set_kernel_value(self, row: int, col: int, k: int, value: float, nudge=False) -> None:
        f = self.doc.selected_filter
        index = (row, col, k, f)
        old = float(self.doc.kernel[index])
        if np.float32(value) == np.float32(old):
            return
        if not nudge:
            self.history.close_merge()
            self._gesture_ended()
        self._nudging = nudge
        self.history.push(SetKernelValue(index, old, value, nudge=nudge))

    def end_nudge(self) -> None:
        self.history.close_merge()
        self._gesture_ended()

    def set_bias(self, value: float) -> None:
        f = self.doc.selected_filter
        old = float(self.doc.bias[f])
        if np.float32(value) != np.float32(old):
            self.history.close_merge()
            self.history.push(SetBias(f, old, value))

    def apply_preset(self, name: str, *, scope: str = "filter", kernel_index: int = 0) -> None:
        """Preset on one kernel (scope 'kernel'), the selected filter, or every filter."""
        doc = self.doc
        kh, kw, cg, filters = doc.kernel.shape
        kernel = doc.kernel.copy()
        f = doc.selected_filter
        if scope == "layer":
            if "random" in name:
                kernel = glorot_uniform(kernel.shape, self.rng)
            else:
                for g in range(filters):
                    kernel[..., g] = filter_preset(name, kh, kw, cg, filters, self.rng)
            label = f"Preset {name} on every filter"
        elif scope == "kernel":
            kernel[:, :, kernel_index, f] = filter_preset(name, kh, kw, cg, filters, self.rng)[
                :, :, 0
            ]
            label = f"Preset {name} on kernel {kernel_index + 1} of filter {f + 1}"
        else:
            kernel[..., f] = filter_preset(name, kh, kw, cg, filters, self.rng)
            label = f"Preset {name} on filter {f + 1}"
        self.history.close_merge()
        self.history.push(state_command(doc, label, {WEIGHTS}, kernel=kernel))

    def preview(self) -> WeightsPreview:
        """A handle to show weights as they change (a training run) and keep them, from the
        weights there are now, as one undo step (see `WeightsPreview`)."""
        self.history.close_merge()
        return WeightsPreview(self)

    def close_step(self) -> None:
        """End the current undo step: the next edit (or preview) starts a new one."""
        self.history.close_merge()

    def _show_weights(self, kernel: np.ndarray, bias: np.ndarray) -> None:
        changed = np.any(self.doc.kernel != kernel, axis=(0, 1, 2)) | (self.doc.bias != bias)
        self.doc.kernel[...] = kernel
        self.doc.bias[...] = bias
        self.doc.notify({WEIGHTS, *(filter_change(int(g)) for g in np.flatnonzero(changed))})

    def set_layer(self, kernel, bias, settings, *, image=None, names=None, label="Import weights"):
        """Replace the layer's weights and settings, and the input when ``image`` is given,
        as one undo step (importing a trained layer). ``bias`` None is stored as zeros.

        Raises ValueError, changing nothing, when they do not fit together or the app's
        limits.
        """
        self.end_stroke()
        doc = self.doc
        if not settings.within_limits():
            raise ValueError(
                f"filters must be 1 to {MAX_FILTERS} and kernel sides 1 to {MAX_KERNEL}"
            )
        kernel = np.array(kernel, dtype=np.float32)
        bias = np.zeros(kernel.shape[3], np.float32) if bias is None else np.array(bias, np.float32)
        after = dict(settings=settings, kernel=kernel, bias=bias, selected_filter=0)
        after.update(self._fitted_after(settings.filters))
        what = {SETTINGS}
        if image is not None:
            if doc.shown:
                raise ValueError(
                    f"layer {doc.shown + 1} reads what the layers before it made: a new "
                    "input goes to layer 1"
                )
            image = np.array(image, dtype=np.float32)
            after.update(
                input=image,
                channel_names=tuple(names or ()) or default_channel_names(image.shape[2]),
            )
            what = {INPUT, SETTINGS}
        # Validates without touching ours.
        Document(
            **{**doc.snapshot(), "after": doc.after, **after},
            before=doc.before,
            source=doc.source,
            source_names=doc.source_names,
        )
        self.history.close_merge()
        self.history.push(state_command(doc, label, what, **after))


class WeightsPreview:
    """Weights shown as they change, kept as one undo step: each :meth:`show` writes them
    to the document and records the change from the weights before the first show as
    one step under ``label`` (the same step again, merged), so an edit made meanwhile
    lands above it and undo takes the whole run back. Made by `Controller.preview`."""

    def __init__(self, controller: Controller):
        self._controller = controller
        doc = controller.doc
        self._before = dict(kernel=doc.kernel.copy(), bias=doc.bias.copy())

    def show(self, kernel: np.ndarray, bias: np.ndarray, label: str) -> None:
        c = self._controller
        c._show_weights(kernel, bias)
        after = dict(kernel=np.array(kernel, np.float32), bias=np.array(bias, np.float32))
        c.history.push(WeightsRun(self, label, self._before, after), applied=True)
