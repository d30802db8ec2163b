"""Brush segments that paint some of the channels update the outputs by difference.

The difference path must give what a full recompute gives (up to float32 rounding), also
when several segments are applied in one update and overlap, when a tile is due for a
recompute in the middle of them, and after the idle steps that recompute the tiles it
touched, which must leave the outputs exactly as a recompute of those boxes would.
"""

import math
from unittest import mock

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convviz import conv2d
from convviz.core import brush_difference
from convviz.core.brush import paint_segment
from convviz.core.conv import conv_geometry
from convviz.core.filter_edits import RESYNC_EDITS
from convviz.core.incremental import DRIFT_TILE, LayerCache
from tests.core.test_incremental import LAYER_FIELDS, assert_cache_equals_full, full, make

layers = st.fixed_dictionaries(
    {
        **LAYER_FIELDS,
        "h": st.integers(4, 40),
        "w": st.integers(4, 40),
        "c": st.integers(2, 4),  # some channels of several
        "d": st.integers(1, 3),
        "groups": st.just(1),
        "mode": st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    }
)


def _layer(seed, shape, k, filters):
    """A random input of ``shape``, ``filters`` kernels of k x k, and biases."""
    rng = np.random.default_rng(seed)
    x = rng.random(shape).astype(np.float32)
    kernel = rng.standard_normal((k, k, shape[2], filters)).astype(np.float32)
    return rng, x, kernel, rng.standard_normal(filters).astype(np.float32)


def _paint(rng, x, p):
    """One random segment on a random proper subset of the channels, or now and then on
    all of them, said as None or named one by one (as the brush's "all channels" does);
    (box, channels)."""
    draw = rng.random()
    every = draw < 0.2
    size = p["c"] if draw < 0.4 or p["c"] == 1 else int(rng.integers(1, p["c"]))
    channels = sorted(rng.choice(p["c"], size=size, replace=False))
    p0 = rng.uniform(-2, max(p["h"], p["w"]) + 2, 2)
    p1 = p0 + rng.uniform(-5, 5, 2)
    value = float(rng.random())
    box = paint_segment(x, [int(c) for c in channels], p0, p1, float(rng.uniform(0.5, 3)), value)
    return box, None if every else tuple(int(c) for c in channels)


def _settle_drift(cache, x, kernel, bias):
    steps = 0
    while cache.resync_drift_step(x, kernel, bias) is not None:
        steps += 1
        assert steps < 10_000
    assert not cache.drift_pending
    return steps


@settings(max_examples=60, deadline=None)
@given(p=layers, seed=st.integers(0, 10**6), updates=st.integers(1, 30))
def test_segments_on_some_channels_equal_a_full_recompute(p, seed, updates):
    assume(p["s"] == 1 or p["d"] == 1)  # Keras refuses both above 1
    rng, x, kernel, bias, kw = make(p, seed)
    kw["padding_mode"] = p["mode"]
    try:
        g = conv_geometry(x.shape, kernel.shape[:2], p["s"], p["padding"], p["d"])
    except ValueError:
        return
    if p["mode"] == "reflect" and max(g.padding) >= min(p["h"], p["w"]):
        return  # reflect needs less padding than the image has pixels
    cache = LayerCache(x, kernel, bias, kw, int(rng.integers(0, p["filters"])))
    # Up to three segments before one update, as when moves arrive together.
    _paint_then_compare(cache, rng, x, kernel, bias, kw, p, updates, most=3)


def _paint_then_compare(cache, rng, x, kernel, bias, kw, p, updates, most, name_all=False):
    """``updates`` updates of 1 to ``most`` random segments each (with ``name_all``,
    segments on every channel name them one by one); then the cache, and after its idle
    steps again, equals a full recompute."""
    for _ in range(updates):
        painted = [_paint(rng, x, p) for _ in range(int(rng.integers(1, most + 1)))]
        every = tuple(range(p["c"]))
        painted = [(b, c or every if name_all else c) for b, c in painted if b is not None]
        if painted:
            boxes, channels = zip(*painted, strict=True)
            cache.inputs_changed(x, kernel, bias, list(boxes), list(channels))
    assert_cache_equals_full(cache, x, kernel, bias, kw)
    np.testing.assert_array_equal(cache.planes, np.moveaxis(x, 2, 0))
    _settle_drift(cache, x, kernel, bias)
    assert_cache_equals_full(cache, x, kernel, bias, kw)


def test_a_segment_on_one_channel_of_several_is_applied_by_difference():
    rng, x, kernel, bias = _layer(3, (30, 34, 3), 5, 4)
    kw = dict(padding="same", activation="relu")
    cache = LayerCache(x, kernel, bias, kw, 2)
    maps_before = cache.kernel_maps.copy()
    box = paint_segment(x, [1], (10, 10), (12, 20), 1.5, 1.0)
    cache.input_changed(x, kernel, bias, box, (1,))
    assert cache.drift_pending  # counted: it was not recomputed from the input
    # Kernel maps of the channels not painted are untouched, bit for bit.
    np.testing.assert_array_equal(cache.kernel_maps[..., [0, 2]], maps_before[..., [0, 2]])
    assert_cache_equals_full(cache, x, kernel, bias, kw)
    # Every channel painted at once is cheaper to recompute here: no difference, no count.
    other = LayerCache(x, kernel, bias, kw, 2)
    box = paint_segment(x, [0, 1, 2], (20, 5), (26, 14), 6.0, 0.0)
    other.input_changed(x, kernel, bias, box, (0, 1, 2))
    assert not other.drift_pending
    assert_cache_equals_full(other, x, kernel, bias, kw)


def test_every_channel_under_a_thin_stroke_with_a_wide_kernel_is_spread_from_its_pixels():
    """With 11 x 11 kernels dilated by 5 a thin stroke reaches outputs 50 pixels away on
    every side: the difference is carried from the few pixels it changed through each tap
    (far fewer multiply-adds than recomputing what it reaches), so it is counted."""
    rng, x, kernel, bias = _layer(19, (120, 130, 4), 11, 3)
    kw = dict(padding="same", dilation_rate=5, activation="relu")
    cache = LayerCache(x, kernel, bias, kw, 1)
    spread = []
    original = brush_difference._spread_difference

    def counted(*args):
        done = original(*args)
        spread.append(done)
        return done

    with mock.patch.object(brush_difference, "_spread_difference", counted):
        box = paint_segment(x, [0, 1, 2, 3], (60, 40), (70, 90), 1.0, 1.0)
        cache.input_changed(x, kernel, bias, box, (0, 1, 2, 3))
    assert spread == [True]
    assert cache.drift_pending
    assert_cache_equals_full(cache, x, kernel, bias, kw)
    np.testing.assert_array_equal(cache.planes, np.moveaxis(x, 2, 0))
    _settle_drift(cache, x, kernel, bias)
    assert_cache_equals_full(cache, x, kernel, bias, kw)


spread_layers = st.fixed_dictionaries(
    {
        **LAYER_FIELDS,
        "h": st.integers(4, 30),
        "w": st.integers(4, 30),
        "k": st.integers(1, 6),
        "s": st.just(1),  # spreading is for stride 1
        "d": st.integers(1, 4),
        "groups": st.just(1),
    }
)


@settings(max_examples=60, deadline=None)
@given(p=spread_layers, seed=st.integers(0, 10**6), updates=st.integers(1, 12))
def test_differences_spread_from_the_changed_pixels_equal_a_full_recompute(p, seed, updates):
    """Whatever the cost estimate says: spread every difference, and compare."""
    with mock.patch.object(brush_difference, "SPREAD_STEP_COST", -math.inf):
        _spread_all(p, seed, updates)


def _spread_all(p, seed, updates):
    rng, x, kernel, bias, kw = make(p, seed)
    try:
        conv_geometry(x.shape, kernel.shape[:2], 1, p["padding"], p["d"])
    except ValueError:
        return
    cache = LayerCache(x, kernel, bias, kw, int(rng.integers(0, p["filters"])))
    _paint_then_compare(cache, rng, x, kernel, bias, kw, p, updates, most=2, name_all=True)


def test_overlapping_segments_in_one_update_count_each_pixel_once():
    rng, x, kernel, _ = _layer(5, (24, 24, 2), 3, 2)
    kw = dict(padding="same")
    cache = LayerCache(x, kernel, None, kw, 0)
    a = paint_segment(x, [0], (8, 8), (8, 14), 2.0, 1.0)
    b = paint_segment(x, [0], (6, 12), (12, 12), 2.0, 0.25)  # crosses the first
    cache.inputs_changed(x, kernel, None, [a, b], [(0,), (0,)])
    assert_cache_equals_full(cache, x, kernel, None, kw)


def test_a_tile_updated_too_often_is_recomputed_with_the_next_segment_that_reaches_it():
    rng, x, kernel, bias = _layer(7, (40, 40, 3), 3, 2)
    kw = dict(padding="same", activation="tanh")
    cache = LayerCache(x, kernel, bias, kw, 0)
    for i in range(RESYNC_EDITS):
        box = paint_segment(x, [2], (5, 5), (5, 6), 1.0, float(i % 2))
        cache.input_changed(x, kernel, bias, box, (2,))
    assert cache._drift[0, 0] == RESYNC_EDITS
    # The next segment there, coalesced with one elsewhere that is applied by difference.
    near = paint_segment(x, [2], (5, 5), (6, 6), 1.0, 0.5)
    far = paint_segment(x, [1], (30, 30), (30, 33), 1.0, 0.5)
    outs = cache.inputs_changed(x, kernel, bias, [near, far], [(2,), (1,)])
    assert cache._drift[0, 0] == 0  # recomputed, the whole tile
    assert outs[0][0].start % DRIFT_TILE == 0 and outs[0][1].start % DRIFT_TILE == 0
    assert cache._drift[30 // DRIFT_TILE, 30 // DRIFT_TILE] == 1
    assert_cache_equals_full(cache, x, kernel, bias, kw)


def test_idle_steps_leave_what_a_recompute_of_the_painted_boxes_gives():
    rng, x, kernel, bias = _layer(11, (70, 50, 4), 3, 3)
    kw = dict(padding="same", dilation_rate=2, activation="sigmoid")
    cache = LayerCache(x, kernel, bias, kw, 1)
    for i in range(200):
        box = paint_segment(x, [i % 3], (rng.uniform(0, 70), 10), (35, 40), 1.5, rng.random())
        if box is not None:
            cache.input_changed(x, kernel, bias, box, (i % 3,))
    assert cache.drift_pending
    steps = _settle_drift(cache, x, kernel, bias)
    assert steps >= 1
    res = full(x, kernel, bias, kw, 1)
    # Recomputed strips are computed from the input as a full recompute is: rounding of
    # the summation order only, far below the differences' accumulated rounding.
    np.testing.assert_allclose(cache.pre_activation, res.pre_activation, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cache.feature_maps, res.feature_maps, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cache.kernel_maps, res.kernel_maps_of(1), rtol=1e-6, atol=1e-6)


def test_kernel_value_edits_read_the_painted_input():
    """The channels-first copy the taps read follows the brush."""
    rng, x, kernel, _ = _layer(13, (20, 22, 3), 3, 2)
    kw = dict(padding="valid")
    cache = LayerCache(x, kernel, None, kw, 0)
    box = paint_segment(x, [0], (4, 4), (15, 15), 2.0, 1.0)
    cache.input_changed(x, kernel, None, box, (0,))
    kernel[1, 1, 0, 1] += 0.5
    cache.weights_changed(x, kernel, None, 1)
    expected = conv2d(x, kernel, None, kernel_map_filters=[0], **kw)
    np.testing.assert_allclose(cache.pre_activation, expected.pre_activation, atol=1e-5)


def test_a_recomputed_box_and_a_difference_in_one_update_do_not_count_twice():
    rng, x, kernel, _ = _layer(17, (24, 24, 3), 3, 2)
    kw = dict(padding="same")
    cache = LayerCache(x, kernel, None, kw, 0)
    one = paint_segment(x, [0], (8, 6), (8, 14), 2.0, 1.0)  # by difference
    every = paint_segment(x, [0, 1, 2], (6, 10), (12, 10), 2.0, 0.0)  # recomputed; crosses it
    cache.inputs_changed(x, kernel, None, [one, every], [(0,), None])
    assert_cache_equals_full(cache, x, kernel, None, kw)
