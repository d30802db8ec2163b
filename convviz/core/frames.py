"""Frames: everything the views show after one recompute, as plain data, and how a
frame is made from the document and the pipeline's outputs.

Pure numpy. The controller makes one frame per recompute with a :class:`FrameBuilder`
and sends it to the window, which hands each view its part; views never read the
document.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from convviz.core.geometry import ConvGeometry, box_union
from convviz.core.levels import input_levels
from convviz.core.model import Document, LayerSettings
from convviz.core.stack import ConvLayer, Layer, LayerRow, summary

if TYPE_CHECKING:  # the pipeline's outputs, which this module only reads
    from convviz.core.pipeline import Outputs

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Frame:
    """Everything the views show after one recompute (views never read the document)."""

    input: F32  # the document's own array: read it, never write it
    channel_names: tuple[str, ...]
    input_levels: tuple[float, float]
    kernel: F32  # (kh, kw, Cg) of the selected filter
    bias_value: float | None
    selected: int
    filters: int
    kernel_channel_names: tuple[str, ...]
    kernel_maps: F32 | None  # (H', W', Cg) of the selected filter
    pre_activation: F32 | None  # (H', W', filters)
    feature_maps: F32 | None  # (H', W', filters)
    map_levels: tuple[float, float]
    output_shape: tuple[int, int, int]
    param_count: int
    activation: str
    settings: LayerSettings
    message: str | None
    # What differs from the previous frame, so views redraw only that.
    input_changed: bool = True
    weights_changed: bool = True
    changed_filters: frozenset[int] | None = None  # None: every filter's maps
    # A brush-only frame: the boxes (rows, cols slices) of the input and of every map
    # outside which nothing changed; None: anything may have changed.
    input_box: tuple[slice, slice] | None = None
    output_box: tuple[slice, slice] | None = None
    # Kernel maps of the selected filter that changed; None: any of them.
    changed_kernel_maps: frozenset[int] | None = None
    # A brush-only frame: the input channels it changed; None: any of them.
    input_channels: frozenset[int] | None = None
    # Every value of every map is known to be finite (measured with the colour scale).
    finite: bool = False
    # The network's layers, and which of them is shown (from 0): beyond the first, the
    # input is what the layers before it made, which no brush paints on.
    layers: tuple[LayerRow, ...] = ()
    shown: int = 0
    network_input_shape: tuple[int, int, int] = (0, 0, 0)
    # While a deeper layer is shown: the network's own input (the document's array: read
    # it, never write it), which the brush paints, its channel names and levels, and the
    # box of it painted since the last frame (None: any of it).
    network_input: F32 | None = None
    network_names: tuple[str, ...] = ()
    network_levels: tuple[float, float] | None = None
    network_box: tuple[slice, slice] | None = None
    network_changed: bool = False  # the network's input is to be drawn again
    network_version: int = 0  # counts the document's remakes of the shown layer's input

    @property
    def input_editable(self) -> bool:
        return self.shown == 0


class FrameBuilder:
    """Makes the frames of one document: remembers what the next frame needs of the
    previous ones (the network's rows, worked out again only when a layer or a shape
    changed; the box of the network's input painted since the last frame)."""

    def __init__(self) -> None:
        self._last_rows: (
            tuple[object, tuple[Layer, ...], tuple[Layer, ...], tuple[LayerRow, ...]] | None
        ) = None
        self._network_box: tuple[slice, slice] | None = None

    def network_painted(self, box: tuple[slice, slice]) -> None:
        """A box of the network's input was painted while a deeper layer is shown."""
        self._network_box = box_union([self._network_box, box])

    def frame(self, doc: Document, out: Outputs, previous: Frame | None) -> Frame:
        """The frame of ``out`` (the pipeline's outputs for ``doc``) after ``previous``."""
        s = doc.settings
        f = doc.selected_filter
        h_out, w_out = out.output_size
        message = None if out.feature_maps is not None else empty_message(doc, out.geometry)
        channels = doc.filter_channels(f)
        before = None if previous is None else previous.input_levels
        if before is not None and not out.input_changed:
            levels = before
        else:
            levels = levels_after(before, out.input_box, doc.input)
        return Frame(
            input=doc.input,
            channel_names=doc.channel_names,
            input_levels=levels,
            kernel=doc.kernel[:, :, :, f].copy(),
            bias_value=float(doc.bias[f]) if s.use_bias else None,
            selected=f,
            filters=s.filters,
            kernel_channel_names=tuple(doc.channel_names[c] for c in channels),
            kernel_maps=out.kernel_maps,
            pre_activation=out.pre_activation,
            feature_maps=out.feature_maps,
            map_levels=out.levels,
            output_shape=(max(h_out, 0), max(w_out, 0), s.filters),
            param_count=out.param_count,
            activation=s.activation or "linear",
            settings=s,
            message=message,
            input_changed=previous is None or out.input_changed,
            weights_changed=previous is None or out.weights_changed,
            changed_filters=None if previous is None else out.changed_filters,
            input_box=None if previous is None else out.input_box,
            output_box=None if previous is None else out.output_box,
            changed_kernel_maps=None if previous is None else out.changed_kernel_maps,
            input_channels=None if previous is None else out.input_channels,
            finite=out.finite,
            **self._network(doc, previous),
        )

    def empty(
        self, doc: Document, message: str, output_size: tuple[int, int], previous: Frame | None
    ) -> Frame:
        """A frame without maps, saying why (``output_size``: of the layer being computed)."""
        f = doc.selected_filter
        return Frame(
            input=doc.input,
            channel_names=doc.channel_names,
            input_levels=input_levels(doc.input),
            kernel=doc.kernel[:, :, :, f].copy(),
            bias_value=float(doc.bias[f]) if doc.settings.use_bias else None,
            selected=f,
            filters=doc.settings.filters,
            kernel_channel_names=tuple(doc.channel_names[c] for c in doc.filter_channels(f)),
            kernel_maps=None,
            pre_activation=None,
            feature_maps=None,
            map_levels=(-1.0, 1.0),
            output_shape=(*output_size, doc.settings.filters),
            param_count=int(doc.kernel.size + doc.bias.size),
            activation=doc.settings.activation or "linear",
            settings=doc.settings,
            message=message,
            **self._network(doc, previous),
        )

    def network_only(self, doc: Document, previous: Frame) -> Frame:
        """``previous`` with only the network's input changed (painted while a deeper
        layer, too heavy to make again at once, is shown)."""
        return replace(
            previous,
            input_changed=False,
            weights_changed=False,
            changed_filters=frozenset(),
            changed_kernel_maps=frozenset(),
            **self._network_input(doc, previous),
        )

    def _network(self, doc: Document, previous: Frame | None) -> dict[str, Any]:
        return dict(
            layers=self._rows(doc),
            shown=doc.shown,
            network_input_shape=doc.network_input.shape,
            **self._network_input(doc, previous),
        )

    def _rows(self, doc: Document) -> tuple[LayerRow, ...]:
        key = (doc.network_input.shape, doc.settings, doc.kernel.shape)
        last = self._last_rows
        if last is None or last[0] != key or last[1] is not doc.before or last[2] is not doc.after:
            live = _Shape(doc.settings, doc.kernel.size + doc.bias.size)
            rows = summary(doc.network_input.shape, (*doc.before, live, *doc.after))
            self._last_rows = last = (key, doc.before, doc.after, rows)
        return last[3]

    def _network_input(self, doc: Document, previous: Frame | None) -> dict[str, Any]:
        """The fields of the network's input: None on layer 1 (it is the input)."""
        box, self._network_box = self._network_box, None
        if doc.source is None:
            return dict(network_input=None, network_box=None, network_changed=False)
        before = None if previous is None else previous.network_levels
        first = (
            previous is None
            or before is None
            or previous.network_input is not doc.source  # another network's input
        )
        version = None if previous is None else previous.network_version
        changed = first or box is not None or version != doc.source_changes
        if not changed and before is not None:
            levels = before
        elif first or box is None:
            levels = input_levels(doc.source)
        else:
            levels = levels_after(before, box, doc.source)
        return dict(
            network_input=doc.source,
            network_names=doc.source_names,
            network_levels=levels,
            network_box=None if first else box,
            network_changed=changed,
            network_version=doc.source_changes,
        )


@dataclass(frozen=True)
class _Shape:
    """What the rows need of the shown layer, without copying its kernels."""

    settings: LayerSettings
    size: int
    kind = "Conv2D"

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        return ConvLayer.output_shape(self, shape)

    def describe(self) -> str:
        return ConvLayer.describe(self)

    @property
    def param_count(self) -> int:
        return self.size if self.settings.use_bias else self.size - self.settings.filters


def levels_after(
    levels: tuple[float, float] | None, box: tuple[slice, slice] | None, x: F32
) -> tuple[float, float]:
    """The levels of ``x`` after an edit of ``box`` when they were ``levels``. A brush box
    of values in [0, 1] drawn where the levels were [0, 1] keeps them, without a pass
    over the whole input (7 ms at 1024x1024x16)."""
    if box is not None and levels == (0.0, 1.0):
        part = x[box]
        if part.size == 0 or (part.min() >= 0 and part.max() <= 1):
            return (0.0, 1.0)
    return input_levels(x)


def empty_message(doc: Document, geometry: ConvGeometry) -> str:
    s = doc.settings
    kh, kw = s.kernel_size
    dh, dw = s.dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    h, w = doc.input.shape[:2]
    t, b, left, r = geometry.padding
    return (
        f"Output is empty: the {kh}×{kw} kernel"
        + (f" (dilated to {eh}×{ew})" if (dh, dw) != (1, 1) else "")
        + f" does not fit in the {h + t + b}×{w + left + r} padded input. "
        "Use a smaller kernel or dilation, or more padding."
    )
