"""Bringing one filter of a :class:`convviz.core.incremental.LayerCache` up to date after
its kernels or bias changed, as a mixin of ``LayerCache``: recomputed whole
(:meth:`FilterEdits.filter_changed`, or on another thread with ``filter_outputs`` and
``install_filter``), or tap by tap: changing ``w[i, j, c, f]`` by δ adds δ times input
channel c, shifted by the tap's offset, to kernel map (c, f) and pre-activation f; a
bias change adds δ to pre-activation f; feature map f is then re-activated. After
:data:`RESYNC_EDITS` such edits a filter is recomputed (:meth:`FilterEdits.resync`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from convviz.core.activations import activate_into, canonical_activation
from convviz.core.conv import conv2d
from convviz.core.geometry import ConvGeometry

if TYPE_CHECKING:
    from convviz.core.incremental import Slices, _Sources

F32 = npt.NDArray[np.float32]

# Incremental edits of one filter after which it is recomputed in full, so that float32
# rounding of the updates cannot pile up (each adds about one ulp of the map's scale).
RESYNC_EDITS = 64


class FilterEdits:
    """The updates of a layer cache's filters after weight edits (see ``LayerCache``)."""

    conv_kwargs: dict[str, Any]
    selected: int
    geometry: ConvGeometry
    pre_activation: F32
    feature_maps: F32
    kernel_maps: F32
    kernel: F32
    bias: F32
    edits: npt.NDArray[np.int64]
    planes: F32
    _sources: _Sources

    if TYPE_CHECKING:

        @property
        def zero_padded(self) -> bool: ...

    def filter_changed(self, x: F32, kernel: F32, bias: F32 | None, f: int) -> None:
        """Recompute filter ``f`` alone after its kernels or bias changed."""
        self.install_filter(f, *self.filter_outputs(x, kernel, bias, f))

    def filter_outputs(
        self, x: F32, kernel: F32, bias: F32 | None, f: int
    ) -> tuple[F32, F32, F32 | None, F32, F32 | None]:
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

    def install_filter(
        self, f: int, pre: F32, feature: F32, maps: F32 | None, kernel: F32, bias: F32 | None
    ) -> None:
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

    def needs_filter_recompute(self, kernel: F32, bias: F32 | None, f: int) -> bool:
        """Whether bringing filter ``f`` up to date means recomputing it whole (many values
        changed, or it is due for :meth:`resync`) rather than tap by tap."""
        changed = int(np.count_nonzero(kernel[..., f] != self.kernel[..., f]))
        new_bias = np.float32(0 if bias is None else bias[f])
        if changed == 0 and new_bias == self.bias[f]:
            return False
        kh, kw, cg = self.kernel.shape[:3]
        return self.needs_resync(f) or changed > max(1, kh * kw * cg // 8)

    def weights_changed(self, x: F32, kernel: F32, bias: F32 | None, f: int) -> list[int] | None:
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

    def _tap_input(self, x: F32, i: int, j: int, channel: int) -> tuple[Slices | None, F32 | None]:
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
        if not self.zero_padded:  # every output reads a pixel, padded ones copies too
            r, c = offset
            rows = self._sources[0][r : r + (oh - 1) * sh + 1 : sh]
            cols = self._sources[1][c : c + (ow - 1) * sw + 1 : sw]
            return (slice(0, oh), slice(0, ow)), self.planes[channel][np.ix_(rows, cols)]
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
        return (out[0], out[1]), self.planes[channel][src[0], src[1]]

    def tap_changed(self, x: F32, i: int, j: int, c: int, f: int, delta: float) -> None:
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

    def resync(self, x: F32, kernel: F32, bias: F32 | None) -> list[int]:
        """Recompute every filter edited incrementally since its last full compute;
        return those filters."""
        stale = [int(f) for f in np.flatnonzero(self.edits)]
        for f in stale:
            self.filter_changed(x, kernel, bias, f)
        return stale
