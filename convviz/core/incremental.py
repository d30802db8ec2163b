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
"""

from __future__ import annotations

import math

import numpy as np

from convviz.core.activations import activate_into, canonical_activation
from convviz.core.conv import conv2d, conv_geometry
from convviz.core.geometry import canonical_padding_mode, pad_input

# Incremental edits of one filter after which it is recomputed in full, so that float32
# rounding of the updates cannot pile up (each adds about one ulp of the map's scale).
RESYNC_EDITS = 64


def box_union(boxes) -> tuple[slice, slice]:
    """The smallest (rows, cols) box holding every box given; None entries are skipped,
    and with none left the box is empty."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return (slice(0, 0), slice(0, 0))
    rows, cols = (
        slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes)) for a in (0, 1)
    )
    return rows, cols


def affected_outputs(geometry, box) -> tuple[slice, slice] | None:
    """The output rows and columns whose receptive field touches the input ``box``.

    ``box`` is a pair of slices (rows, cols) in input coordinates; None if no output
    pixel reads it.
    """
    out = []
    for axis, sl in enumerate(box):
        pad = geometry.padding[2 * axis]
        s, d, k = geometry.strides[axis], geometry.dilation[axis], geometry.kernel_size[axis]
        n_out = geometry.output_size[axis]
        # Output o reads padded rows o*s .. o*s + (k-1)*d, i.e. input rows shifted by pad.
        first = math.ceil((sl.start + pad - (k - 1) * d) / s)
        last = (sl.stop - 1 + pad) // s
        first, last = max(first, 0), min(last, n_out - 1)
        if first > last:
            return None
        out.append(slice(first, last + 1))
    return out[0], out[1]


def _own(a: np.ndarray) -> np.ndarray:
    """``a`` made writable in place when its memory allows, else a writable copy.

    conv2d hands out read-only views of memory it allocated for this call alone; taking
    them over instead of copying halves the cache's peak memory on large layers.
    """
    try:
        a.flags.writeable = True
    except ValueError:
        return np.array(a)
    return a


class LayerCache:
    """The current outputs of one layer: pre-activation and feature maps of every filter,
    and the kernel maps of one selected filter.

    Parameters are those of :func:`convviz.conv2d`; ``conv_kwargs`` are its keyword
    arguments other than ``bias`` and ``kernel_map_filters``.
    """

    def __init__(self, x, kernel, bias, conv_kwargs: dict, selected: int):
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
        # Contiguous copies of the input channels whose kernel values were edited: the
        # input is channels-last, and gathering one channel from it is most of an edit.
        self._planes: dict[int, np.ndarray] = {}

    @property
    def zero_padded(self) -> bool:
        return self.conv_kwargs.get("padding_mode", "zeros") == "zeros"

    def kernel_map_channels(self, channels) -> frozenset[int] | None:
        """The selected filter's kernel maps (indices into its group) that read any of the
        input ``channels``; None when ``channels`` is None (any channel)."""
        if channels is None:
            return None
        cg = self.kernel_maps.shape[2]
        f_group = self.pre_activation.shape[2] // self.conv_kwargs.get("groups", 1)
        first = (self.selected // f_group) * cg
        return frozenset(c - first for c in channels if first <= c < first + cg)

    def input_changed(self, x, kernel, bias, box, channels=None) -> tuple[slice, slice] | None:
        """Recompute the outputs that read the input ``box``; return the output box.

        ``channels``, when given, promises that only those input channels changed: the
        kernel maps of the others are left exactly as they were.

        Only for zero padding: with reflect, replicate or circular padding a pixel near
        one edge is also read through the padding of another, so the caller does a full
        recompute instead (``zero_padded`` tells which).
        """
        if not self.zero_padded:
            raise ValueError("regional updates need zero padding")
        for channel, plane in self._planes.items():
            plane[box] = x[box[0], box[1], channel]
        out = affected_outputs(self.geometry, box)
        if out is None:
            return None
        g = self.geometry
        lo_hi = []
        for axis, sl in enumerate(out):
            s, d, k = g.strides[axis], g.dilation[axis], g.kernel_size[axis]
            pad = g.padding[2 * axis]
            lo = sl.start * s - pad
            hi = (sl.stop - 1) * s - pad + (k - 1) * d + 1  # exclusive, input coordinates
            lo_hi.append((lo, hi))
        (r_lo, r_hi), (c_lo, c_hi) = lo_hi
        h, w = x.shape[:2]
        crop = x[max(r_lo, 0) : min(r_hi, h), max(c_lo, 0) : min(c_hi, w)]
        # The crop's own zero padding stands for the layer's padding at the image edges.
        padding = (max(-r_lo, 0), max(r_hi - h, 0), max(-c_lo, 0), max(c_hi - w, 0))
        kwargs = dict(self.conv_kwargs, padding=padding)
        res = conv2d(crop, kernel, bias, kernel_map_filters=[self.selected], **kwargs)
        self.pre_activation[out] = res.pre_activation
        self.feature_maps[out] = res.feature_maps
        maps = self.kernel_map_channels(channels)
        if maps is None:
            self.kernel_maps[out] = res.kernel_maps_of(self.selected)
        elif maps:
            picked = sorted(maps)
            region = self.kernel_maps[out]  # a view: written in place
            region[..., picked] = res.kernel_maps_of(self.selected)[..., picked]
        return out

    def filter_changed(self, x, kernel, bias, f: int) -> None:
        """Recompute filter ``f`` alone after its kernels or bias changed."""
        self.install_filter(f, *self.filter_outputs(x, kernel, bias, f))

    def filter_outputs(self, x, kernel, bias, f: int) -> tuple:
        """Filter ``f`` computed afresh, for :meth:`install_filter`: its pre-activation,
        feature map, kernel maps (None unless it is the selected filter), and the kernels
        and bias it was computed with (copies, so another thread may run it)."""
        groups = self.conv_kwargs.get("groups", 1)
        filters = kernel.shape[3]
        cg = kernel.shape[2]
        g = f // (filters // groups)
        kwargs = dict(self.conv_kwargs, groups=1)
        weights = np.array(kernel[..., f : f + 1], dtype=np.float32)
        b = None if bias is None else np.array(bias[f : f + 1], dtype=np.float32)
        res = conv2d(
            x[..., g * cg : (g + 1) * cg],
            weights,
            b,
            kernel_map_filters=[0] if f == self.selected else [],
            **kwargs,
        )
        maps = np.ascontiguousarray(res.kernel_maps_of(0)) if f == self.selected else None
        return res.pre_activation[..., 0], res.feature_maps[..., 0], maps, weights[..., 0], b

    def install_filter(self, f: int, pre, feature, maps, kernel, bias) -> None:
        """Put filter ``f``'s outputs from :meth:`filter_outputs` in place."""
        self.pre_activation[..., f] = pre
        self.feature_maps[..., f] = feature
        if maps is not None:
            fits = maps.shape == self.kernel_maps.shape and maps.dtype == self.kernel_maps.dtype
            if fits and maps.flags.c_contiguous and maps.flags.writeable:
                self.kernel_maps = maps  # computed for this cache alone: no 64 MB copy
            else:
                self.kernel_maps[...] = maps
        self.kernel[..., f] = kernel
        self.bias[f] = 0 if bias is None else bias[0]
        self.edits[f] = 0

    def needs_filter_recompute(self, kernel, bias, f: int) -> bool:
        """Whether bringing filter ``f`` up to date means recomputing it whole (many values
        changed, or it is due for :meth:`resync`) rather than tap by tap."""
        changed = int(np.count_nonzero(kernel[..., f] != self.kernel[..., f]))
        new_bias = np.float32(0 if bias is None else bias[f])
        if changed == 0 and new_bias == self.bias[f]:
            return False
        kh, kw, cg = self.kernel.shape[:3]
        return self.needs_resync(f) or changed > max(1, kh * kw * cg // 8)

    def weights_changed(self, x, kernel, bias, f: int) -> list[int] | None:
        """Bring filter ``f`` up to date with ``kernel`` and ``bias``, however they changed.

        A few changed kernel values are applied tap by tap, a bias change as a shift;
        many at once, or a filter due for :meth:`resync`, is recomputed. Returns the
        kernel-map channels that changed (empty if only the bias did), or None for all.
        """
        changed = np.argwhere(kernel[..., f] != self.kernel[..., f])
        new_bias = np.float32(0 if bias is None else bias[f])
        if len(changed) == 0 and new_bias == self.bias[f]:
            return []
        if self.needs_filter_recompute(kernel, bias, f):
            self.filter_changed(x, kernel, bias, f)
            return None
        for i, j, c in changed:
            new = np.float32(kernel[i, j, c, f])
            delta = np.float64(new) - np.float64(self.kernel[i, j, c, f])
            self.tap_changed(x, int(i), int(j), int(c), f, delta)
            self.kernel[i, j, c, f] = new
        if new_bias != self.bias[f]:
            self.bias_changed(f, np.float64(new_bias) - np.float64(self.bias[f]))
            self.bias[f] = new_bias
        return sorted({int(c) for c in changed[:, 2]})

    def _tap_input(
        self, x, i: int, j: int, channel: int
    ) -> tuple[tuple[slice, slice] | None, np.ndarray | None]:
        """The output box tap (i, j) reads input ``channel`` at, and what it reads there.

        With zero padding, outputs whose tap falls in the padding are left out, so the
        values are a strided view of ``x``; (None, None) if the tap reads only padding.
        """
        g = self.geometry
        if self.conv_kwargs.get("flip_kernel", False):
            i, j = g.kernel_size[0] - 1 - i, g.kernel_size[1] - 1 - j
        sh, sw = g.strides
        oh, ow = g.output_size
        offset = (i * g.dilation[0], j * g.dilation[1])
        mode = canonical_padding_mode(self.conv_kwargs.get("padding_mode", "zeros"))
        if mode != "zeros":
            padded = pad_input(x[..., channel : channel + 1], g.padding, mode)
            r, c = offset
            return (slice(0, oh), slice(0, ow)), padded[
                r : r + (oh - 1) * sh + 1 : sh, c : c + (ow - 1) * sw + 1 : sw, 0
            ]
        out, src = [], []
        for axis, n_out in enumerate((oh, ow)):
            s, pad, size = g.strides[axis], g.padding[2 * axis], x.shape[axis]
            # Output o reads input o*s + offset - pad; keep those inside the input.
            lo = max(0, math.ceil((pad - offset[axis]) / s))
            hi = min(n_out - 1, (size - 1 + pad - offset[axis]) // s)
            if lo > hi:
                return None, None
            start = lo * s + offset[axis] - pad
            out.append(slice(lo, hi + 1))
            src.append(slice(start, start + (hi - lo) * s + 1, s))
        plane = self._planes.get(channel)
        if plane is None:
            plane = self._planes[channel] = np.ascontiguousarray(x[..., channel])
        return (out[0], out[1]), plane[src[0], src[1]]

    def tap_changed(self, x, i: int, j: int, c: int, f: int, delta: float) -> None:
        """Add ``delta`` to kernel value ``w[i, j, c, f]``'s contribution; re-activate f.

        ``c`` is the channel within the filter's group, as in the kernel's third axis.
        """
        if delta == 0:
            return
        self.kernel[i, j, c, f] += np.float32(delta)
        groups = self.conv_kwargs.get("groups", 1)
        cg = self.kernel_maps.shape[2]
        f_group = self.pre_activation.shape[2] // groups
        box, tap = self._tap_input(x, i, j, (f // f_group) * cg + c)
        if box is not None and tap is not None:  # both None when it reads only padding
            # One pass over the input channel, reused for both maps.
            contribution = np.multiply(tap, np.float32(delta), dtype=np.float32)
            pre = self.pre_activation[..., f][box]
            pre += contribution
            if f == self.selected:
                kmap = self.kernel_maps[..., c][box]
                kmap += contribution
        self._activate(f)
        self.edits[f] += 1

    def bias_changed(self, f: int, delta: float) -> None:
        """Add ``delta`` to filter ``f``'s bias: shift its pre-activation, re-activate."""
        if delta == 0:
            return
        self.bias[f] += np.float32(delta)
        pre = self.pre_activation[..., f]
        pre += np.float32(delta)
        self._activate(f)
        self.edits[f] += 1

    def _activate(self, f: int) -> None:
        act = canonical_activation(self.conv_kwargs.get("activation"))
        pre, out = self.pre_activation[..., f], self.feature_maps[..., f]
        if act != "linear" and not np.shares_memory(pre, out):
            activate_into(act, pre, out)

    def needs_resync(self, f: int) -> bool:
        """Whether filter ``f`` has had enough incremental edits to be recomputed."""
        return bool(self.edits[f] >= RESYNC_EDITS)

    def resync(self, x, kernel, bias) -> list[int]:
        """Recompute every filter edited incrementally since its last full compute;
        return those filters."""
        stale = [int(f) for f in np.flatnonzero(self.edits)]
        for f in stale:
            self.filter_changed(x, kernel, bias, f)
        return stale

    def same_layout(self, x_shape, kernel_shape, conv_kwargs, selected) -> bool:
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
