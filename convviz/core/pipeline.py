"""From the document to what the views show, recomputing only what an edit changed.

The controller tells the pipeline what changed (the `Change` the document announces);
at the next refresh :meth:`Pipeline.compute` brings its :class:`LayerCache` up to date:
a brush box recomputes the outputs that read it, a kernel value or bias edit updates that
filter tap by tap (recomputing it when many values changed), anything else recomputes
the layer. :meth:`Pipeline.resync` recomputes the filters edited incrementally, and
:meth:`Pipeline.resync_drift` the output brush segments updated by difference, for when
the user pauses. How it measures the maps for the colour scale is the mixin of
``pipeline_levels.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from convviz.core.changes import Change, Marker
from convviz.core.conv import conv_geometry
from convviz.core.geometry import ConvGeometry, box_union
from convviz.core.incremental import LayerCache, Slices
from convviz.core.levels import SymmetricLevels
from convviz.core.model import Document
from convviz.core.pipeline_levels import (
    PipelineLevels,
    _FilterOutputs,
    _Measured,
    _outputs_measured,
)

__all__ = ["Outputs", "Pipeline"]

F32 = npt.NDArray[np.float32]
_FiltersResult = tuple[LayerCache | None, list[tuple[int, _FilterOutputs, _Measured]]]


@dataclass(frozen=True)
class Outputs:
    """The layer's outputs after one refresh, and what changed since the previous one.

    The arrays belong to the pipeline and are updated in place by the next refresh.
    ``changed_filters`` is None when every filter's maps may have changed.
    """

    kernel_maps: F32 | None
    pre_activation: F32 | None
    feature_maps: F32 | None
    levels: tuple[float, float]
    param_count: int
    output_size: tuple[int, int]
    geometry: ConvGeometry
    input_changed: bool
    weights_changed: bool
    changed_filters: frozenset[int] | None
    # When the refresh was brush boxes only: the input box and the output box (rows,
    # cols slices) holding every changed value; None means anything may have changed.
    input_box: tuple[slice, slice] | None = None
    output_box: tuple[slice, slice] | None = None
    # Channels of the selected filter whose kernel maps changed; None means any may have.
    changed_kernel_maps: frozenset[int] | None = None
    # When the refresh was brush boxes only: the input channels they changed (None: any).
    input_channels: frozenset[int] | None = None
    # Every value of every map is known to be finite (measured with the scale); when
    # False some may not be, and whoever shows them checks.
    finite: bool = False


class Pipeline(PipelineLevels):
    def __init__(self) -> None:
        self.cache: LayerCache | None = None
        self._largest = 0.0
        # Per filter: the largest magnitude of its pre-activation and feature map, and of
        # the selected filter's kernel maps, so that a filter edit can lower the scale.
        self._filter_largest = np.zeros(0)
        self._kernel_largest = np.zeros(0)  # of each kernel map of the selected filter
        # Measured at the same time: whether every value of those maps is finite.
        self._filter_finite = np.zeros(0, bool)
        self._kernel_finite = np.zeros(0, bool)
        self._overestimate = False  # brush boxes only raised the maxima: rescan to lower
        self.levels = SymmetricLevels()
        self.hold = False  # a gesture is under way: the levels may grow, not shrink
        self.full_recomputes = 0
        self._reset_pending(full=True)

    def _reset_pending(self, full: bool) -> None:
        self.full = full
        self.boxes: list[tuple[slice, slice]] = []
        self.box_channels: list[tuple[int, ...] | None] = []  # per box: channels changed
        self.filters: set[int] = set()
        self.input_changed = full
        self.weights_changed = full

    def note(self, what: Change | Iterable[Marker], stroking: bool = False) -> None:
        """Record a document change (a :class:`Change`, or the markers naming one)."""
        change = Change.of(what)
        if change.input:
            self.input_changed = True
            if change.whole_input:
                self.full = True
            else:
                for box, channels in change.input_boxes():
                    self.boxes.append(box)
                    self.box_channels.append(channels)
        if change.weights:
            self.weights_changed = True
            if change.all_filters:
                self.full = True
            else:
                self.filters.update(change.filters)
        if change.settings or change.selection:
            self.full = self.input_changed = self.weights_changed = True
        if change.settings or (change.whole_input and not stroking):
            self.levels.reset()  # a new layer or a new picture: find a new scale

    @staticmethod
    def _geometry(doc: Document) -> ConvGeometry:
        s = doc.settings
        return conv_geometry(
            doc.input.shape[:2], s.kernel_size, s.strides, s.padding, s.dilation, allow_empty=True
        )

    def wants_full(self, doc: Document) -> bool:
        """Whether the next :meth:`compute` would recompute the whole layer."""
        cache = self.cache
        if min(self._geometry(doc).output_size) <= 0:
            return False
        return (
            self.full
            or cache is None
            or not cache.same_layout(
                doc.input.shape, doc.kernel.shape, doc.settings.conv_kwargs(), doc.selected_filter
            )
        )

    @staticmethod
    def output_size(doc: Document) -> tuple[int, int]:
        """(H', W') of the layer ``doc`` describes (zero or less when it is empty)."""
        return Pipeline._geometry(doc).output_size

    @staticmethod
    def work(doc: Document) -> int:
        """Multiply-adds of a full recompute: how long it will take, roughly."""
        h, w = Pipeline._geometry(doc).output_size
        return max(h, 0) * max(w, 0) * doc.kernel.size

    def full_job(self, doc: Document) -> Callable[[], LayerCache]:
        """A callable computing the whole layer from copies of ``doc``, for another thread.

        The changes noted so far are consumed; any noted while the job runs stay pending
        for the refresh after :meth:`adopt`.
        """
        s = doc.settings
        x, kernel = doc.reader_snapshot()["input"], doc.kernel.copy()  # shared, read-only
        bias = doc.bias.copy() if s.use_bias else None
        kwargs, f = s.conv_kwargs(), doc.selected_filter
        self._reset_pending(full=False)
        return lambda: LayerCache(x, kernel, bias, kwargs, f)

    def heavy_filters(self, doc: Document) -> list[int]:
        """The edited filters the next :meth:`compute` would recompute whole (many values
        changed, or due for a resync); empty unless the pending changes are filter edits
        alone."""
        cache = self.cache
        if not self.filters or self.boxes or self.wants_full(doc):
            return []
        assert cache is not None  # without a cache, wants_full() is True
        bias = doc.bias if doc.settings.use_bias else None
        return [
            g
            for g in sorted(self.filters)
            if cache.needs_filter_recompute(doc.kernel, bias, g) or self._not_finite(cache, g)
        ]

    def filters_job(self, doc: Document, filters: Collection[int]) -> Callable[[], _FiltersResult]:
        """A callable computing ``filters`` afresh from copies of ``doc``, for another
        thread; :meth:`adopt_filters` installs what it returns. Their edits are consumed;
        any noted while the job runs stay pending."""
        cache = self.cache
        x, kernel = doc.reader_snapshot()["input"], doc.kernel.copy()  # shared, read-only
        bias = doc.bias.copy() if doc.settings.use_bias else None
        self.filters.difference_update(filters)
        picked = list(filters)

        def job() -> _FiltersResult:
            computed = []
            for g in picked:
                # A filters job follows heavy_filters, which finds none without a cache.
                outputs = cache.filter_outputs(x, kernel, bias, g)  # type: ignore[union-attr]
                computed.append((g, outputs, _outputs_measured(outputs)))
            return cache, computed

        return job

    def adopt_filters(self, result: _FiltersResult, doc: Document) -> Outputs | None:
        """Install filters a :meth:`filters_job` computed; their outputs, or None when the
        layer changed meanwhile (the result no longer fits: compute again)."""
        cache, computed = result
        if cache is not self.cache or cache is None or self.full:
            return None
        for g, outputs, (largest, finite, kernel_largest, kernel_finite) in computed:
            cache.install_filter(g, *outputs)
            # Measured on the worker too: scanning 16 maps of 1024x1024 takes 10 ms here.
            if self._filter_largest.size != cache.feature_maps.shape[2]:
                self._scan(cache)
                continue
            self._filter_largest[g], self._filter_finite[g] = largest, finite
            if g == cache.selected and kernel_largest is not None:
                # Both are None or neither (measured together in _outputs_measured).
                self._kernel_largest, self._kernel_finite = kernel_largest, kernel_finite  # type: ignore[assignment]
        self._largest = self._measured()
        changed = frozenset(g for g, *_ in computed)
        out = self._outputs(doc, cache, self._geometry(doc), changed, False, True)
        maps: frozenset[int] | None = None if cache.selected in changed else frozenset()
        return replace(out, changed_kernel_maps=maps)

    def adopt(self, cache: LayerCache, doc: Document) -> Outputs:
        """Install a cache a job computed; its outputs, with everything marked changed."""
        self.cache = cache
        self.full_recomputes += 1
        self._scan(cache)
        return self._outputs(doc, cache, self._geometry(doc), None, True, True)

    def compute(self, doc: Document) -> Outputs:
        """Bring the outputs up to date with ``doc``."""
        s = doc.settings
        f = doc.selected_filter
        bias = doc.bias if s.use_bias else None
        kwargs = s.conv_kwargs()
        geometry = self._geometry(doc)
        changed: frozenset[int] | None = None if self.full else frozenset(self.filters)
        changed_maps: frozenset[int] | None = (
            frozenset()
        )  # kernel maps of the selected filter that changed
        boxes = None
        input_channels: frozenset[int] | None = None
        cache = self.cache
        if min(geometry.output_size) <= 0:
            self.cache = cache = None
        elif self.wants_full(doc):
            self.cache = cache = LayerCache(doc.input, doc.kernel, bias, kwargs, f)
            self.full_recomputes += 1
            self._scan(cache)
            changed = changed_maps = None
        else:
            assert cache is not None  # without a cache, wants_full() is True
            # A recomputed filter is scanned whole, so its edit can lower the scale; a brush
            # box only raises the maxima, and the whole cache is scanned once it has ended.
            for g in sorted(self.filters):
                if self._not_finite(cache, g):
                    cache.filter_changed(doc.input, doc.kernel, bias, g)
                    maps = None
                else:
                    maps = cache.weights_changed(doc.input, doc.kernel, bias, g)
                self._scan_filter(cache, g, maps)
                if g == f:
                    changed_maps = (
                        None if maps is None or changed_maps is None else changed_maps.union(maps)
                    )
            out_boxes = cache.inputs_changed(
                doc.input, doc.kernel, bias, self.boxes, self.box_channels
            )
            for out in out_boxes:
                if out is not None:
                    self._grow(cache, out)
            if self._overestimate and not self.hold and not self.boxes:
                self._scan(cache)
            self._largest = self._measured()
            if self.boxes:
                changed = None  # a brush box reaches every filter's maps
                painted_maps = cache.kernel_map_channels(self._painted())
                if changed_maps is not None:
                    changed_maps = None if painted_maps is None else changed_maps | painted_maps
                if not self.filters and not self.weights_changed:
                    boxes = (box_union(self.boxes), box_union(out_boxes))
                    painted = self._painted()
                    input_channels = None if painted is None else frozenset(painted)
        if cache is None:
            changed_maps = None
        outputs = self._outputs(
            doc, cache, geometry, changed, self.input_changed, self.weights_changed, boxes
        )
        outputs = replace(outputs, changed_kernel_maps=changed_maps, input_channels=input_channels)
        self._reset_pending(full=False)
        return outputs

    def _outputs(
        self,
        doc: Document,
        cache: LayerCache | None,
        geometry: ConvGeometry,
        changed: frozenset[int] | None,
        input_changed: bool,
        weights_changed: bool,
        boxes: tuple[Slices, Slices] | None = None,
    ) -> Outputs:
        s = doc.settings
        return Outputs(
            kernel_maps=None if cache is None else cache.kernel_maps,
            pre_activation=None if cache is None else cache.pre_activation,
            feature_maps=None if cache is None else cache.feature_maps,
            levels=self._levels(cache),
            param_count=int(doc.kernel.size + (doc.bias.size if s.use_bias else 0)),
            output_size=geometry.output_size,
            geometry=geometry,
            input_changed=input_changed,
            weights_changed=weights_changed,
            changed_filters=changed,
            input_box=None if boxes is None else boxes[0],
            output_box=None if boxes is None else boxes[1],
            finite=cache is not None and self._all_finite(cache),
        )

    def resync(self, doc: Document) -> Outputs | None:
        """Recompute the filters updated incrementally since their last full compute, so
        no float32 rounding of the updates stays; their outputs, or None if none was."""
        cache = self.cache
        if cache is None or self.pending or self.wants_full(doc):
            return None
        bias = doc.bias if doc.settings.use_bias else None
        stale = cache.resync(doc.input, doc.kernel, bias)
        if not stale:
            return None
        for g in stale:
            self._scan_filter(cache, g)
        self._largest = self._measured()
        out = self._outputs(doc, cache, self._geometry(doc), frozenset(stale), False, True)
        return replace(out, changed_kernel_maps=None if cache.selected in stale else frozenset())

    def rescan_levels(self, doc: Document) -> Outputs | None:
        """After a gesture, measure the maps again so the colour scale can shrink to fit
        (brush boxes only raised it); the outputs with no map changed, or None when there
        was nothing to measure."""
        cache = self.cache
        if cache is None or not self._overestimate or self.hold or self.pending:
            return None
        if self.wants_full(doc):
            return None
        self._scan(cache)
        out = self._outputs(doc, cache, self._geometry(doc), frozenset(), False, False)
        return replace(out, changed_kernel_maps=frozenset())

    @property
    def drift_pending(self) -> bool:
        """Whether brush updates made by difference await :meth:`resync_drift`."""
        return self.cache is not None and self.cache.drift_pending

    def resync_drift(self, doc: Document) -> Outputs | None:
        """Recompute one strip of the output that brush segments updated by difference
        (a few milliseconds of work), so no float32 rounding of those updates stays; its
        outputs, naming that box, or None when there was nothing to do."""
        cache = self.cache
        if cache is None or self.pending or self.wants_full(doc):
            return None
        bias = doc.bias if doc.settings.use_bias else None
        out_box = cache.resync_drift_step(doc.input, doc.kernel, bias)
        if out_box is None:
            return None
        # Recomputed values differ from the corrected ones by rounding: no rescan needed.
        self._grow(cache, out_box, rescan=False)
        self._largest = self._measured()
        unchanged = (slice(0, 0), slice(0, 0))  # the input did not change
        boxes = (unchanged, out_box)
        out = self._outputs(doc, cache, self._geometry(doc), None, False, False, boxes)
        return replace(out, changed_kernel_maps=frozenset())  # those were exact

    def _painted(self) -> set[int] | None:
        """The input channels the pending brush boxes changed; None: any."""
        painted: set[int] = set()
        for channels in self.box_channels:
            if channels is None:
                return None
            painted.update(channels)
        return painted

    @property
    def pending(self) -> bool:
        """Whether changes were noted since the last compute."""
        return self.full or bool(self.boxes or self.filters)
