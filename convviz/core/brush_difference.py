"""Brush segments applied to a layer's outputs by difference, not recomputed.

A segment that paints some of the channels changes each pre-activation by the
convolution of what it painted minus what was there, over those channels alone: with 16
channels and one painted, a sixteenth of recomputing what it reaches. With zero padding
and stride 1 the difference can instead be spread from the pixels that changed, through
each tap (:func:`_spread_difference`): its cost follows those pixels, not the outputs
they reach, so it pays even when every channel is painted, where a thin stroke crosses
the box of a large or dilated kernel. :func:`difference_pays` and :func:`add_difference`
pick the cheapest way by an estimate of each one's cost. The functions read and update a
:class:`~convviz.core.incremental.LayerCache`, which counts what they corrected.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from convviz.core.activations import activate_into, canonical_activation
from convviz.core.conv import conv2d
from convviz.core.geometry import affected_outputs

if TYPE_CHECKING:
    from convviz.core.incremental import F32, LayerCache, Slices

# What the ways of updating after a brush segment cost, as the multiply-adds a matrix
# product does in the same time (measured on a 2-core x86-64 machine): spreading the
# difference from the changed pixels (`_spread_difference`) takes a fixed
# cost per filter and painted channel and a cost per element it adds up; a convolution
# has a fixed cost of its own.
SPREAD_STEP_COST = 120_000
SPREAD_ADD_COST = 70
CONV_STEP_COST = 3_000_000


def difference_pays(cache: LayerCache, x: F32, box: Slices, painted: list[int]) -> bool:
    """Whether updating by difference what painting the channels ``painted`` in
    ``box`` changed is cheaper than recomputing the outputs it reaches."""
    if cache.conv_kwargs.get("groups", 1) != 1:
        return False
    if len(painted) < cache.planes.shape[0]:
        return True  # fewer channels to convolve over the same outputs
    # Every channel: only spreading the difference from the pixels that changed can
    # be cheaper (a thin stroke across a large box).
    if not cache.zero_padded or cache.geometry.strides != (1, 1):
        return False
    rows, cols = box
    changed = int(
        np.count_nonzero(
            (np.moveaxis(x[rows, cols], 2, 0) != cache.planes[:, rows, cols]).any(axis=0)
        )
    )
    return _spread_cost(cache, box, painted, changed) < _recompute_cost(cache, box)


def _spread_cost(
    cache: LayerCache, box: Slices, painted: list[int], pixels: int | None = None
) -> float:
    """What :func:`_spread_difference` costs, in multiply-adds (its other steps
    counted as the multiply-adds a matrix product does in their time): ``pixels``
    changed pixels (all of the box's when None), each carried through every tap."""
    if cache.geometry.strides != (1, 1):
        return math.inf
    kh, kw, _, filters = cache.kernel.shape
    if pixels is None:
        pixels = (box[0].stop - box[0].start) * (box[1].stop - box[1].start)
    p = len(painted)
    return float(
        SPREAD_STEP_COST * (filters + p)
        + kh * kw * pixels * ((filters + p) * SPREAD_ADD_COST + p * filters)
    )


def _recompute_cost(cache: LayerCache, box: Slices) -> float:
    """What recomputing the outputs the input ``box`` reaches costs, in multiply-adds."""
    out = affected_outputs(cache.geometry, box)
    if out is None:
        return 0.0
    kh, kw, cg, filters = cache.kernel.shape
    pixels = (out[0].stop - out[0].start) * (out[1].stop - out[1].start)
    # And the selected filter's kernel maps.
    return float(CONV_STEP_COST + pixels * kh * kw * cg * (filters + 1))


def _spread_difference(
    cache: LayerCache, x: F32, kernel: F32, box: Slices, out: Slices, painted: list[int]
) -> bool:
    """Zero padding, stride 1: add to the pre-activations in ``out`` what the change
    of the channels ``painted`` in ``box`` (what ``x`` holds there now minus what
    :attr:`planes` says) contributes through each tap, spread from the pixels that
    changed: one matrix product, then one weighted count per filter and painted channel
    gathers what lands on each output. Its cost follows the
    changed pixels, not the outputs they reach, so it pays for every channel painted
    with a large or dilated kernel, where a thin stroke crosses its box. False, doing
    nothing, when so many pixels changed that a convolution is cheaper."""
    rows, cols = box
    first, last = painted[0], painted[-1]
    chans: slice | np.ndarray = (
        slice(first, last + 1)
        if painted == list(range(first, last + 1))
        else np.asarray(painted, dtype=np.intp)
    )
    now = x[rows, cols][..., chans]
    before = np.moveaxis(cache.planes[:, rows, cols][chans], 0, 2)
    delta = np.subtract(now, before, dtype=np.float32)
    changed = np.flatnonzero(delta.any(axis=2))
    cost = _spread_cost(cache, box, painted, changed.size)
    if cost >= _difference_cost(cache, out, painted):
        return False
    weights = np.asarray(kernel, np.float32)[:, :, chans, :]
    if cache.conv_kwargs.get("flip_kernel", False):
        weights = weights[::-1, ::-1]
    kh, kw, p, filters = weights.shape
    g = cache.geometry
    oh, ow = out[0].stop - out[0].start, out[1].stop - out[1].start
    # Output (o, q) reads input (o + i * dilation - pad, q + j * dilation - pad): the
    # output each changed pixel reaches through each tap, as an index into ``out``
    # (one past its end where that lies outside it).
    bw = delta.shape[1]
    r = changed // bw + (rows.start + g.padding[0] - out[0].start)
    c = changed % bw + (cols.start + g.padding[2] - out[1].start)
    tr = r[None, :] - (np.arange(kh) * g.dilation[0])[:, None]  # (kh, pixels)
    tc = c[None, :] - (np.arange(kw) * g.dilation[1])[:, None]  # (kw, pixels)
    inside = ((tr >= 0) & (tr < oh))[:, None] & ((tc >= 0) & (tc < ow))[None, :]
    target = np.where(inside, tr[:, None] * ow + tc[None, :], oh * ow).ravel()
    values = delta.reshape(-1, p)[changed]  # (pixels, p)
    # Every tap's contribution to every filter at once, filter by filter:
    # (filters * taps, p) @ (p, pixels).
    spread = weights.transpose(3, 0, 1, 2).reshape(-1, p) @ values.T
    spread = spread.reshape(filters, -1)
    size = oh * ow + 1
    change = np.empty((oh * ow, filters), np.float32)
    for f in range(filters):
        change[:, f] = np.bincount(target, weights=spread[f], minlength=size)[:-1]
    # The selected filter's kernel maps of the painted channels, the same way.
    taps = weights[..., cache.selected].reshape(-1, p)  # (taps, p)
    maps = np.empty((oh * ow, p), np.float32)
    for k in range(p):
        each = np.multiply.outer(taps[:, k], values[:, k]).ravel()
        maps[:, k] = np.bincount(target, weights=each, minlength=size)[:-1]
    region = cache.kernel_maps[out]
    region[..., chans] += maps.reshape(oh, ow, p)
    _add_to_sums(cache, out, change.reshape(oh, ow, filters))
    return True


def _add_to_sums(cache: LayerCache, out: Slices, change: F32) -> None:
    """Add ``change`` to the pre-activations in the output box ``out``; re-activate there."""
    pre = cache.pre_activation[out]  # a view: updated in place
    pre += change
    feature = cache.feature_maps[out]
    if not np.shares_memory(pre, feature):
        activate_into(canonical_activation(cache.conv_kwargs.get("activation")), pre, feature)


def add_difference(
    cache: LayerCache, x: F32, kernel: F32, box: Slices, out: Slices, painted: list[int]
) -> None:
    """Add to every pre-activation in ``out`` the convolution of what the channels
    ``painted`` hold in ``box`` now minus what :attr:`planes` says they held there;
    re-activate there. The selected filter's kernel maps of those channels in ``out``
    are computed afresh. With zero padding, when it is cheaper, the difference is
    spread from the box instead (:func:`_spread_difference`)."""
    if cache.zero_padded and _spread_difference(cache, x, kernel, box, out, painted):
        return
    now, kwargs, (rs, cs) = cache.crop_input(x, out, painted)
    kwargs["activation"] = None
    # With reflect, replicate or circular padding the crop holds copies of the box
    # too: whatever comes from the box carries the difference.
    picked = np.asarray(painted, dtype=np.intp)
    before = np.moveaxis(cache.planes[np.ix_(picked, rs, cs)], 0, 2)
    inside = ((rs >= box[0].start) & (rs < box[0].stop))[:, None] & (
        (cs >= box[1].start) & (cs < box[1].stop)
    )[None, :]
    difference = np.where(inside[..., None], now - before, np.float32(0))
    difference = difference.astype(np.float32, copy=False)
    weights = kernel[:, :, painted, :]
    change = conv2d(difference, weights, None, kernel_map_filters=[], **kwargs)
    _add_to_sums(cache, out, change.pre_activation)
    f = cache.selected
    res = conv2d(now, weights[..., f : f + 1], None, kernel_map_filters=[0], **kwargs)
    region = cache.kernel_maps[out]
    region[..., painted] = res.kernel_maps_of(0)


def _difference_cost(cache: LayerCache, out: Slices, painted: list[int]) -> float:
    """What the convolution of a difference over ``out`` costs, in multiply-adds (and
    that of the selected filter's kernel maps there)."""
    kh, kw, _, filters = cache.kernel.shape
    pixels = (out[0].stop - out[0].start) * (out[1].stop - out[1].start)
    return float(CONV_STEP_COST + pixels * kh * kw * len(painted) * (filters + 1))
