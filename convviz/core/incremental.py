"""Keep a layer's outputs current for local edits without recomputing everything.

A brush segment changes a small box of the input: only the outputs whose receptive
fields touch it (the box plus the kernel's halo) change. A kernel value or bias edit
changes one filter: only that filter's maps change. :class:`LayerCache` holds the last
result and recomputes just those parts with :func:`convviz.conv2d`, so what it holds is
always what a full recompute would give (up to float32 rounding of the summation order).

A single kernel value is cheaper still: changing ``w[i, j, c, f]`` by δ changes kernel
map (c, f) and pre-activation f by δ times input channel c shifted by the tap's offset
(one axpy over the output), and a bias change adds δ to pre-activation f; the feature
map f is then re-activated. Such updates round differently from a full recompute, so
after :data:`RESYNC_EDITS` of them the filter is recomputed (:meth:`LayerCache.resync`).
Those edits of one filter are the :class:`convviz.core.filter_edits.FilterEdits` mixin.

A brush segment that paints some of the channels, or a thin stroke on all of them, is
applied by difference (:mod:`convviz.core.brush_difference`): the cache keeps a
channels-first copy of the input it was computed from (:attr:`LayerCache.planes`) to
know what was there. Those updates round like the kernel-value ones, so the output is
split into tiles of :data:`DRIFT_TILE` pixels that count them: a tile updated
:data:`RESYNC_EDITS` times is recomputed with the next segment that reaches it, and
:meth:`LayerCache.resync_drift_step` recomputes the counted tiles a strip at a time
once painting pauses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from convviz.core.brush_difference import add_difference, difference_pays
from convviz.core.conv import conv2d, conv_geometry
from convviz.core.filter_edits import RESYNC_EDITS, FilterEdits
from convviz.core.geometry import (
    NUMPY_PAD_MODE,
    affected_outputs,
    box_union,
    canonical_padding_mode,
)

# Side, in output pixels, of the tiles that count brush updates made by difference.
DRIFT_TILE = 16
# Multiply-adds of one idle step recomputing counted tiles (a few milliseconds).
DRIFT_STEP_WORK = 60_000_000

F32 = npt.NDArray[np.float32]
Slices = tuple[slice, slice]  # rows, cols
_Sources = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]


def _own(a: F32) -> F32:
    """``a`` made writable in place when its memory allows, else a writable copy.

    conv2d hands out read-only views of memory it allocated for this call alone; taking
    them over instead of copying halves the cache's peak memory on large layers.
    """
    try:
        a.flags.writeable = True
    except ValueError:
        return np.array(a)
    return a


class LayerCache(FilterEdits):
    """The current outputs of one layer: pre-activation and feature maps of every filter,
    and the kernel maps of one selected filter.

    Parameters are those of :func:`convviz.conv2d`; ``conv_kwargs`` are its keyword
    arguments other than ``bias`` and ``kernel_map_filters``.
    """

    def __init__(
        self, x: F32, kernel: F32, bias: F32 | None, conv_kwargs: dict[str, Any], selected: int
    ) -> None:
        self.conv_kwargs = dict(conv_kwargs)
        self.selected = selected
        res = conv2d(x, kernel, bias, kernel_map_filters=[selected], **self.conv_kwargs)
        self.geometry = res.geometry
        self.param_count = res.param_count
        self.pre_activation = _own(res.pre_activation)
        self.feature_maps = _own(res.feature_maps)
        self.kernel_maps = _own(res.kernel_maps_of(selected))
        # The weights the outputs were computed from, to tell which values an edit
        # changed; and incremental edits per filter since it was last computed in full.
        self.kernel = np.array(kernel, dtype=np.float32)
        self.bias = np.zeros(kernel.shape[3], np.float32) if bias is None else np.array(bias)
        self.bias = self.bias.astype(np.float32)
        self.edits = np.zeros(kernel.shape[3], dtype=np.int64)
        # The input these outputs were computed from, channels first: a kernel-value edit
        # reads one channel contiguously (gathering it from the channels-last input is
        # most of an edit), and a brush segment reads what it painted over.
        self.planes = np.array(np.moveaxis(np.asarray(x), 2, 0), dtype=np.float32, order="C")
        # With reflect, replicate or circular padding: per axis, the input row (column)
        # each row (column) of the padded input copies.
        mode = canonical_padding_mode(self.conv_kwargs.get("padding_mode", "zeros"))
        self._sources: _Sources = (np.zeros(0, int), np.zeros(0, int))
        if mode != "zeros":
            top, bottom, left, right = self.geometry.padding
            how = NUMPY_PAD_MODE[mode]
            self._sources = (
                np.pad(np.arange(x.shape[0]), (top, bottom), mode=how),
                np.pad(np.arange(x.shape[1]), (left, right), mode=how),
            )
        # Per output tile: brush updates made by difference since it was last computed.
        oh, ow = (max(n, 0) for n in self.geometry.output_size)
        self._drift = np.zeros((-(-oh // DRIFT_TILE), -(-ow // DRIFT_TILE)), np.int32)

    @property
    def zero_padded(self) -> bool:
        # conv_kwargs holds values of several types, so its values are typed Any.
        return self.conv_kwargs.get("padding_mode", "zeros") == "zeros"  # type: ignore[no-any-return]

    def kernel_map_channels(self, channels: Iterable[int] | None) -> frozenset[int] | None:
        """The selected filter's kernel maps (indices into its group) that read any of the
        input ``channels``; None when ``channels`` is None (any channel)."""
        if channels is None:
            return None
        cg = self.kernel_maps.shape[2]
        f_group = self.pre_activation.shape[2] // self.conv_kwargs.get("groups", 1)
        first = (self.selected // f_group) * cg
        return frozenset(c - first for c in channels if first <= c < first + cg)

    def input_changed(
        self,
        x: F32,
        kernel: F32,
        bias: F32 | None,
        box: Slices,
        channels: Iterable[int] | None = None,
    ) -> Slices | None:
        """Bring the outputs that read the input ``box`` up to date; return the output box.

        ``channels``, when given, promises that only those input channels changed: the
        kernel maps of the others are left exactly as they were, and when they are some
        but not all of the channels the pre-activations are updated by the difference.

        With reflect, replicate or circular padding a pixel near an edge is also read
        through the padding, where those modes copy it: the output box returned holds
        those outputs too.
        """
        return self.inputs_changed(x, kernel, bias, [box], [channels])[0]

    def inputs_changed(
        self,
        x: F32,
        kernel: F32,
        bias: F32 | None,
        boxes: Sequence[Slices],
        channels: Sequence[Iterable[int] | None],
    ) -> list[Slices | None]:
        """:meth:`input_changed` for several boxes painted since the last update (with
        the channels each changed, None for any); the output box of each (holding every
        output it changed: with reflect, replicate or circular padding a box near an edge
        is also read through the padding, where those modes copy it)."""
        outs: list[tuple[slice, slice] | None] = []
        plans = []
        for box, chans in zip(boxes, channels, strict=True):
            painted = None if chans is None else sorted({int(c) for c in chans})
            # By difference where that is cheaper than recomputing the outputs the box
            # reaches: some of the channels, or all of them spread from the box (below).
            some = painted if painted and difference_pays(self, x, box, painted) else None
            regions = []
            for out in self._reached(box):
                by_difference = False
                if some is not None:
                    tiles = self._tiles(out)
                    # inf - inf is NaN: outputs beyond float32 are recomputed, not corrected.
                    by_difference = bool(self._drift[tiles].max() < RESYNC_EDITS) and bool(
                        np.isfinite(self.pre_activation[out]).all()
                    )
                    if not by_difference:  # some tile is due: recompute all of them now
                        out = self._snapped(out)
                regions.append((out, by_difference))
            outs.append(box_union([out for out, _ in regions]) if regions else None)
            plans.append((box, painted, some, regions))
        # Differences first, each counting the pixels of its box not counted before (its
        # planes are updated once its regions are done); boxes recomputed from the input
        # come after, so what they recompute is not changed again by a difference.
        for box, _, some, regions in plans:
            corrected = [out for out, by_difference in regions if by_difference]
            if some is not None and corrected:
                for out in corrected:
                    add_difference(self, x, kernel, box, out, some)
                    self._drift[self._tiles(out)] += 1
                self._copy_planes(x, box, some)
        for box, painted, some, regions in plans:
            for out, by_difference in regions:
                if not by_difference:
                    self._recompute(x, kernel, bias, out, self.kernel_map_channels(painted))
            if some is None or not any(by_difference for _, by_difference in regions):
                self._copy_planes(x, box, painted)
        return outs

    def _reached(self, box: Slices) -> list[Slices]:
        """The output boxes whose outputs read the input ``box``: one with zero padding;
        with the other modes also those that read it through the padding."""
        if self.zero_padded:
            out = affected_outputs(self.geometry, box)
            return [] if out is None else [out]
        g = self.geometry
        ranges = []
        for axis, sl in enumerate(box):
            s, d, k = g.strides[axis], g.dilation[axis], g.kernel_size[axis]
            n_out = g.output_size[axis]
            src = self._sources[axis]
            hit = np.flatnonzero((src >= sl.start) & (src < sl.stop))
            found: list[list[int]] = []
            if hit.size:
                # Runs of padded positions holding the box, as output ranges, merged.
                breaks = np.flatnonzero(np.diff(hit) > 1)
                starts = np.concatenate(([hit[0]], hit[breaks + 1]))
                stops = np.concatenate((hit[breaks], [hit[-1]])) + 1
                for p0, p1 in zip(starts.tolist(), stops.tolist(), strict=True):
                    first = max(math.ceil((p0 - (k - 1) * d) / s), 0)
                    last = min((p1 - 1) // s, n_out - 1)
                    if first > last:
                        continue
                    if found and first <= found[-1][1] + 1:
                        found[-1][1] = max(found[-1][1], last)
                    else:
                        found.append([first, last])
            ranges.append([slice(a, b + 1) for a, b in found])
        return [(r, c) for r in ranges[0] for c in ranges[1]]

    def _copy_planes(self, x: F32, box: Slices, painted: list[int] | None) -> None:
        rows, cols = box
        if painted is None:
            self.planes[:, rows, cols] = np.moveaxis(x[rows, cols], 2, 0)
        else:
            for c in painted:
                self.planes[c, rows, cols] = x[rows, cols, c]

    def _crop(self, out: Slices) -> tuple[slice, slice, tuple[int, int, int, int]]:
        """The input rows and columns the output box ``out`` reads, and the zero padding
        that stands for the layer's padding where they pass the image's edges."""
        g = self.geometry
        lo_hi = []
        for axis, sl in enumerate(out):
            s, d, k = g.strides[axis], g.dilation[axis], g.kernel_size[axis]
            pad = g.padding[2 * axis]
            lo = sl.start * s - pad
            hi = (sl.stop - 1) * s - pad + (k - 1) * d + 1  # exclusive, input coordinates
            lo_hi.append((lo, hi))
        (r_lo, r_hi), (c_lo, c_hi) = lo_hi
        h, w = self.planes.shape[1:]
        padding = (max(-r_lo, 0), max(r_hi - h, 0), max(-c_lo, 0), max(c_hi - w, 0))
        return slice(max(r_lo, 0), min(r_hi, h)), slice(max(c_lo, 0), min(c_hi, w)), padding

    def _window_sources(self, out: Slices) -> _Sources:
        """With reflect, replicate or circular padding: the input row and column each
        position of the padded input the output box ``out`` reads comes from."""
        g = self.geometry
        picked = []
        for axis, sl in enumerate(out):
            s, d, k = g.strides[axis], g.dilation[axis], g.kernel_size[axis]
            picked.append(self._sources[axis][sl.start * s : (sl.stop - 1) * s + (k - 1) * d + 1])
        return picked[0], picked[1]

    def crop_input(
        self, x: F32, out: Slices, channels: list[int] | None = None
    ) -> tuple[F32, dict[str, Any], _Sources]:
        """The part of the input the output box ``out`` reads (of ``channels``, a list,
        or all), the keyword arguments that make conv2d of it that box, and the input row
        and column each of its rows and columns comes from."""
        if self.zero_padded:
            rows, cols, padding = self._crop(out)
            crop = x[rows, cols] if channels is None else x[rows, cols][..., channels]
            sources = (np.arange(rows.start, rows.stop), np.arange(cols.start, cols.stop))
            return crop, dict(self.conv_kwargs, padding=padding), sources
        rs, cs = self._window_sources(out)
        if channels is None:
            crop = x[np.ix_(rs, cs)]
        else:
            crop = x[np.ix_(rs, cs, np.asarray(channels, dtype=np.intp))]
        return crop, dict(self.conv_kwargs, padding=0, padding_mode="zeros"), (rs, cs)

    def _recompute(
        self, x: F32, kernel: F32, bias: F32 | None, out: Slices, maps: frozenset[int] | None
    ) -> None:
        """Compute the output box ``out`` afresh from ``x``, and of the selected filter's
        kernel maps those of the channels ``maps`` (all when None)."""
        crop, kwargs, _ = self.crop_input(x, out)
        wanted = [self.selected] if maps is None or maps else []
        res = conv2d(crop, kernel, bias, kernel_map_filters=wanted, **kwargs)
        self.pre_activation[out] = res.pre_activation
        self.feature_maps[out] = res.feature_maps
        if maps is None:
            self.kernel_maps[out] = res.kernel_maps_of(self.selected)
        elif maps:
            picked = sorted(maps)
            region = self.kernel_maps[out]  # a view: written in place
            region[..., picked] = res.kernel_maps_of(self.selected)[..., picked]
        # Tiles wholly inside the box are exact again.
        (r0, r1), (c0, c1) = (self._inner_tiles(out[a], a) for a in (0, 1))
        self._drift[r0:r1, c0:c1] = 0

    def _tiles(self, out: Slices) -> Slices:
        """The drift tiles the output box ``out`` touches."""
        t = DRIFT_TILE
        return slice(out[0].start // t, -(-out[0].stop // t)), slice(
            out[1].start // t, -(-out[1].stop // t)
        )

    def _snapped(self, out: Slices) -> Slices:
        """``out`` grown to the edges of the drift tiles it touches."""
        t, size = DRIFT_TILE, self.pre_activation.shape[:2]
        return slice(out[0].start // t * t, min(-(-out[0].stop // t) * t, size[0])), slice(
            out[1].start // t * t, min(-(-out[1].stop // t) * t, size[1])
        )

    def _inner_tiles(self, sl: slice, axis: int) -> tuple[int, int]:
        """The tiles along ``axis`` that the output range ``sl`` covers wholly (the last
        tile, cut short by the map's edge, when ``sl`` reaches that edge)."""
        t, count = DRIFT_TILE, self._drift.shape[axis]
        first = -(-sl.start // t)
        last = count if sl.stop >= self.pre_activation.shape[axis] else sl.stop // t
        return first, max(first, last)

    @property
    def drift_pending(self) -> bool:
        """Whether some output tile was updated by difference since it was computed."""
        return bool(self._drift.any())

    def resync_drift_step(self, x: F32, kernel: F32, bias: F32 | None) -> Slices | None:
        """Recompute the first strip of tiles updated by difference (as many tiles of one
        row as :data:`DRIFT_STEP_WORK` allows); the output box recomputed, or None."""
        dirty = np.argwhere(self._drift)
        if len(dirty) == 0:
            return None
        i, j = (int(v) for v in dirty[0])
        kh, kw, cg, filters = self.kernel.shape
        per_tile = DRIFT_TILE * DRIFT_TILE * kh * kw * cg * filters
        most = max(1, DRIFT_STEP_WORK // max(per_tile, 1))
        row = self._drift[i]
        stop = j
        while stop < row.size and stop - j < most and row[stop]:
            stop += 1
        t = DRIFT_TILE
        oh, ow = self.pre_activation.shape[:2]
        out = (slice(i * t, min((i + 1) * t, oh)), slice(j * t, min(stop * t, ow)))
        self._recompute(x, kernel, bias, out, None)  # kernel maps were spread too
        return out

    def same_layout(
        self,
        x_shape: tuple[int, ...],
        kernel_shape: tuple[int, ...],
        conv_kwargs: dict[str, Any],
        selected: int,
    ) -> bool:
        """Whether this cache still describes a layer of these shapes and settings."""
        if conv_kwargs != self.conv_kwargs or selected != self.selected:
            return False
        geometry = conv_geometry(
            x_shape[:2],
            kernel_shape[:2],
            conv_kwargs.get("strides", 1),
            conv_kwargs.get("padding", "valid"),
            conv_kwargs.get("dilation_rate", 1),
            allow_empty=True,
        )
        return (
            geometry == self.geometry
            and self.pre_activation.shape[2] == kernel_shape[3]
            and self.kernel_maps.shape[2] == kernel_shape[2]
        )
