"""Kernel value and bias edits applied tap by tap agree with a fresh conv2d."""

import numpy as np
import pytest

from convviz.core import filter_edits
from convviz.core.conv import conv2d, conv_geometry
from convviz.core.incremental import LayerCache


def _slow_tap(x, i, j, channel, kwargs, kernel_size):
    """What tap (i, j) reads of ``channel`` at every output pixel, by an obvious loop."""
    g = conv_geometry(
        x.shape[:2], kernel_size, kwargs["strides"], kwargs["padding"], kwargs["dilation_rate"]
    )
    top, _, left, _ = g.padding
    h, w = x.shape[:2]
    out = np.zeros(g.output_size, np.float64)
    for r in range(g.output_size[0]):
        for c in range(g.output_size[1]):
            y = r * g.strides[0] + i * g.dilation[0] - top
            z = c * g.strides[1] + j * g.dilation[1] - left
            if 0 <= y < h and 0 <= z < w:
                out[r, c] = x[y, z, channel]
    return out


CASES = [
    dict(strides=1, padding="same", dilation_rate=1),
    dict(strides=1, padding="valid", dilation_rate=1),
    dict(strides=2, padding="same", dilation_rate=1),
    dict(strides=(3, 2), padding="valid", dilation_rate=1),
    dict(strides=1, padding="same", dilation_rate=2),
    dict(strides=1, padding="valid", dilation_rate=(2, 3)),
    dict(strides=1, padding=(2, 0, 1, 3), dilation_rate=1),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_one_tap_matches_a_slow_loop(kwargs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((13, 11, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 4, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(2).astype(np.float32)
    cache = LayerCache(x, kernel, bias, kwargs, selected=1)
    pre0, maps0 = np.array(cache.pre_activation), np.array(cache.kernel_maps)
    for i, j, c in [(0, 0, 0), (2, 3, 2), (1, 2, 1), (2, 0, 0)]:
        cache.tap_changed(x, i, j, c, 1, 0.5)
        expected = 0.5 * _slow_tap(x, i, j, c, kwargs, (3, 4))
        np.testing.assert_allclose(cache.kernel_maps[..., c] - maps0[..., c], expected, atol=1e-5)
        np.testing.assert_allclose(cache.pre_activation[..., 1] - pre0[..., 1], expected, atol=1e-5)
        pre0, maps0 = np.array(cache.pre_activation), np.array(cache.kernel_maps)
    np.testing.assert_array_equal(cache.pre_activation[..., 0], pre0[..., 0])


SEQUENCES = [
    (dict(strides=1, padding="same", dilation_rate=1, activation="relu"), 1, 3),
    (dict(strides=1, padding="valid", dilation_rate=2, activation="tanh"), 1, 2),
    (dict(strides=2, padding="same", dilation_rate=1, activation="sigmoid"), 1, 4),
    (dict(strides=(1, 2), padding="valid", dilation_rate=1, activation=None), 1, 1),
    (dict(strides=1, padding="same", dilation_rate=1, activation="relu", groups=2), 2, 4),
    (dict(strides=1, padding="same", dilation_rate=1, padding_mode="reflect"), 1, 3),
    (dict(strides=1, padding="same", dilation_rate=2, padding_mode="circular"), 1, 2),
    (dict(strides=2, padding="same", dilation_rate=1, padding_mode="replicate"), 1, 3),
    (dict(strides=(2, 1), padding="same", dilation_rate=1, padding_mode="reflect"), 1, 2),
    (dict(strides=1, padding="same", dilation_rate=1, flip_kernel=True), 1, 3),
]


@pytest.mark.parametrize(("kwargs", "groups", "channels"), SEQUENCES)
def test_long_random_edit_sequences_match_a_fresh_conv2d(kwargs, groups, channels):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((17, 15, channels)).astype(np.float32)
    filters = 4
    kernel = rng.standard_normal((3, 5, channels // groups, filters)).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    selected = 2
    cache = LayerCache(x, kernel, bias, kwargs, selected)
    for step in range(400):
        f = int(rng.integers(filters))
        if cache.zero_padded and rng.random() < 0.1:  # a brush box between value edits
            r, c = int(rng.integers(15)), int(rng.integers(13))
            box = (slice(r, r + 2), slice(c, c + 3))
            x[box] = rng.standard_normal(x[box].shape).astype(np.float32)
            cache.input_changed(x, kernel, bias, box)
        elif rng.random() < 0.3:
            bias[f] += np.float32(rng.standard_normal())
        else:
            i, j, c = (int(rng.integers(n)) for n in kernel.shape[:3])
            kernel[i, j, c, f] += np.float32(rng.standard_normal())
        cache.weights_changed(x, kernel, bias, f)
        if step % 50 == 49:
            fresh = conv2d(x, kernel, bias, kernel_map_filters=[selected], **kwargs)
            np.testing.assert_allclose(cache.pre_activation, fresh.pre_activation, atol=2e-4)
            np.testing.assert_allclose(cache.feature_maps, fresh.feature_maps, atol=2e-4)
            np.testing.assert_allclose(cache.kernel_maps, fresh.kernel_maps_of(selected), atol=2e-4)


def test_incremental_edits_stay_bounded_by_resync(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 9, 2)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 2, 1)).astype(np.float32)
    bias = np.zeros(1, np.float32)
    kwargs = dict(strides=1, padding="same", dilation_rate=1)
    cache = LayerCache(x, kernel, bias, kwargs, 0)
    calls = []
    real = cache.filter_changed
    monkeypatch.setattr(cache, "filter_changed", lambda *a: calls.append(a) or real(*a))
    for _ in range(filter_edits.RESYNC_EDITS):
        kernel[1, 1, 0, 0] += np.float32(0.1)
        cache.weights_changed(x, kernel, bias, 0)
    assert calls == [] and cache.edits[0] == filter_edits.RESYNC_EDITS
    kernel[0, 0, 1, 0] += np.float32(0.1)
    cache.weights_changed(x, kernel, bias, 0)
    assert len(calls) == 1 and cache.edits[0] == 0
    fresh = conv2d(x, kernel, bias, kernel_map_filters=[0], **kwargs)
    np.testing.assert_allclose(cache.pre_activation, fresh.pre_activation, atol=1e-5)


def test_resync_recomputes_edited_filters_only():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 8, 1)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 1, 3)).astype(np.float32)
    bias = np.zeros(3, np.float32)
    cache = LayerCache(x, kernel, bias, dict(padding="same"), 0)
    kernel[0, 1, 0, 2] = 5.0
    bias[1] = -2.0
    cache.weights_changed(x, kernel, bias, 2)
    cache.weights_changed(x, kernel, bias, 1)
    assert cache.resync(x, kernel, bias) == [1, 2]
    assert cache.resync(x, kernel, bias) == []


def test_pipeline_reports_the_one_kernel_map_an_edit_changed():
    from convviz.core.commands import SetBias, SetKernelValue
    from convviz.core.history import History
    from convviz.core.model import default_document
    from convviz.core.pipeline import Pipeline

    doc = default_document(np.random.default_rng(0).random((20, 24, 3)).astype(np.float32))
    pipe = Pipeline()
    doc.subscribe(pipe.note)
    pipe.compute(doc)
    f = doc.selected_filter
    history = History(doc)
    history.push(SetKernelValue((1, 2, 2, f), float(doc.kernel[1, 2, 2, f]), 3.0))
    out = pipe.compute(doc)
    assert out.changed_filters == frozenset({f}) and out.changed_kernel_maps == frozenset({2})
    history.push(SetBias(f, float(doc.bias[f]), 0.75))
    out = pipe.compute(doc)
    assert out.changed_kernel_maps == frozenset() and pipe.full_recomputes == 1
    s = doc.settings
    fresh = conv2d(doc.input, doc.kernel, doc.bias, kernel_map_filters=[f], **s.conv_kwargs())
    np.testing.assert_allclose(out.feature_maps, fresh.feature_maps, atol=1e-5)
    np.testing.assert_allclose(out.kernel_maps, fresh.kernel_maps_of(f), atol=1e-5)
    resynced = pipe.resync(doc)
    assert resynced is not None and resynced.changed_filters == frozenset({f})
    assert pipe.resync(doc) is None
