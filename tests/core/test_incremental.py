import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convviz import conv2d
from convviz.core.brush import paint_segment
from convviz.core.conv import conv_geometry
from convviz.core.incremental import LayerCache, affected_outputs


def full(x, kernel, bias, kw, f):
    return conv2d(x, kernel, bias, kernel_map_filters=[f], **kw)


def assert_cache_equals_full(cache, x, kernel, bias, kw):
    res = full(x, kernel, bias, kw, cache.selected)
    np.testing.assert_allclose(cache.pre_activation, res.pre_activation, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cache.feature_maps, res.feature_maps, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        cache.kernel_maps, res.kernel_maps_of(cache.selected), rtol=1e-5, atol=1e-5
    )


def slow_affected(geometry, box, h_out, w_out):
    """Output pixels whose receptive field (every tap) touches the box, by brute force."""
    hit = np.zeros((h_out, w_out), bool)
    for r in range(h_out):
        for c in range(w_out):
            rows, cols = geometry.input_window(r, c)
            hit[r, c] = any(box[0].start <= i < box[0].stop for i in rows) and any(
                box[1].start <= j < box[1].stop for j in cols
            )
    return hit


# A layer's fields, for hypothesis; other tests narrow or widen some of them.
LAYER_FIELDS = {
    "h": st.integers(4, 14),
    "w": st.integers(4, 14),
    "c": st.integers(1, 4),
    "k": st.integers(1, 4),
    "filters": st.integers(1, 4),
    "s": st.integers(1, 3),
    "d": st.integers(1, 2),
    "padding": st.sampled_from(["valid", "same", "full"]),
    "act": st.sampled_from(["linear", "relu", "tanh", "sigmoid"]),
    "groups": st.sampled_from([1, 2]),
    "flip": st.booleans(),
}
layers = st.fixed_dictionaries(LAYER_FIELDS)


def make(p, seed):
    rng = np.random.default_rng(seed)
    groups = p["groups"] if p["c"] % p["groups"] == 0 and p["filters"] % p["groups"] == 0 else 1
    x = rng.random((p["h"], p["w"], p["c"])).astype(np.float32)
    kernel = rng.standard_normal((p["k"], p["k"], p["c"] // groups, p["filters"])).astype(
        np.float32
    )
    bias = rng.standard_normal(p["filters"]).astype(np.float32)
    kw = dict(
        strides=p["s"],
        padding=p["padding"],
        dilation_rate=p["d"],
        groups=groups,
        activation=p["act"],
        flip_kernel=p["flip"],
    )
    return rng, x, kernel, bias, kw


@settings(max_examples=60, deadline=None)
@given(p=layers, seed=st.integers(0, 10**6), edits=st.integers(1, 25))
def test_long_random_edit_sequences_equal_a_full_recompute(p, seed, edits):
    assume(p["s"] == 1 or p["d"] == 1)  # Keras refuses both above 1
    rng, x, kernel, bias, kw = make(p, seed)
    try:
        conv_geometry(x.shape, kernel.shape[:2], p["s"], p["padding"], p["d"])
    except ValueError:
        return  # no output at all for this layer
    selected = int(rng.integers(0, p["filters"]))
    cache = LayerCache(x, kernel, bias, kw, selected)
    for _ in range(edits):
        if rng.random() < 0.5:
            p0 = rng.uniform(-2, max(p["h"], p["w"]) + 2, 2)
            p1 = p0 + rng.uniform(-4, 4, 2)
            box = paint_segment(
                x,
                [int(rng.integers(0, p["c"]))],
                p0,
                p1,
                float(rng.uniform(0.5, 2)),
                float(rng.random()),
            )
            if box is not None:
                cache.input_changed(x, kernel, bias, box)
        else:
            f = int(rng.integers(0, p["filters"]))
            idx = tuple(int(rng.integers(0, n)) for n in kernel.shape[:3]) + (f,)
            kernel[idx] = rng.standard_normal()
            if rng.random() < 0.3:
                bias[f] = rng.standard_normal()
            cache.filter_changed(x, kernel, bias, f)
    assert_cache_equals_full(cache, x, kernel, bias, kw)


@settings(max_examples=80, deadline=None)
@given(
    p=layers,
    r0=st.integers(0, 13),
    c0=st.integers(0, 13),
    dr=st.integers(1, 5),
    dc=st.integers(1, 5),
)
def test_affected_outputs_cover_every_output_that_reads_the_box(p, r0, c0, dr, dc):
    try:
        g = conv_geometry((p["h"], p["w"]), (p["k"], p["k"]), p["s"], p["padding"], p["d"])
    except ValueError:
        return
    box = (
        slice(min(r0, p["h"] - 1), min(r0 + dr, p["h"])),
        slice(min(c0, p["w"] - 1), min(c0 + dc, p["w"])),
    )
    hit = slow_affected(g, box, *g.output_size)
    out = affected_outputs(g, box)
    if out is None:
        assert not hit.any()
        return
    marked = np.zeros_like(hit)
    marked[out] = True
    assert marked[hit].all()  # every output that reads the box is recomputed
    if p["d"] == 1:
        # Without dilation gaps the box is tight: the bounding box of those outputs.
        rows, cols = np.nonzero(hit)
        assert (rows.min(), rows.max() + 1) == (out[0].start, out[0].stop)
        assert (cols.min(), cols.max() + 1) == (out[1].start, out[1].stop)
