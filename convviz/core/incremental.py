"""Keep a layer's outputs current for local edits without recomputing everything.

A brush segment changes a small box of the input: only the outputs whose receptive
fields touch it (the box plus the kernel's halo) change. A kernel value or bias edit
changes one filter: only that filter's maps change. :class:`LayerCache` holds the last
result and recomputes just those parts with :func:`convviz.conv2d`, so what it holds is
always what a full recompute would give (up to float32 rounding of the summation order).
"""

from __future__ import annotations

import math

import numpy as np

from convviz.core.conv import conv2d, conv_geometry


def box_union(boxes) -> tuple[slice, slice]:
    """The smallest (rows, cols) box holding every box given; None entries are skipped,
    and with none left the box is empty."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return (slice(0, 0), slice(0, 0))
    return tuple(
        slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes)) for a in (0, 1)
    )


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

    @property
    def zero_padded(self) -> bool:
        return self.conv_kwargs.get("padding_mode", "zeros") == "zeros"

    def input_changed(self, x, kernel, bias, box) -> tuple[slice, slice] | None:
        """Recompute the outputs that read the input ``box``; return the output box.

        Only for zero padding: with reflect, replicate or circular padding a pixel near
        one edge is also read through the padding of another, so the caller does a full
        recompute instead (``zero_padded`` tells which).
        """
        if not self.zero_padded:
            raise ValueError("regional updates need zero padding")
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
        self.kernel_maps[out] = res.kernel_maps_of(self.selected)
        return out

    def filter_changed(self, x, kernel, bias, f: int) -> None:
        """Recompute filter ``f`` alone after its kernels or bias changed."""
        groups = self.conv_kwargs.get("groups", 1)
        filters = kernel.shape[3]
        cg = kernel.shape[2]
        g = f // (filters // groups)
        kwargs = dict(self.conv_kwargs, groups=1)
        res = conv2d(
            x[..., g * cg : (g + 1) * cg],
            kernel[..., f : f + 1],
            None if bias is None else bias[f : f + 1],
            kernel_map_filters=[0] if f == self.selected else [],
            **kwargs,
        )
        self.pre_activation[..., f] = res.pre_activation[..., 0]
        self.feature_maps[..., f] = res.feature_maps[..., 0]
        if f == self.selected:
            self.kernel_maps[...] = res.kernel_maps_of(0)

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
