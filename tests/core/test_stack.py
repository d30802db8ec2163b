"""The stack of layers: max pooling and the chained layers against explicit loops, and
the document showing one layer of a stack at a time."""

import numpy as np
import pytest

from convviz.core.explain import network_shapes
from convviz.core.model import (
    Document,
    LayerSettings,
    default_document,
    new_conv_layer,
)
from convviz.core.stack import (
    ConvLayer,
    PoolLayer,
    fit_layers,
    forward,
    max_pool2d,
    shapes,
    summary,
)
from tests.core.test_conv import reference_conv, reference_padding


def slow_max_pool(x, pool, strides, padding):
    """Each output pixel: the largest input pixel of its window, the padding left out."""
    h, w, c = x.shape
    (ph, pw), (sh, sw) = pool, strides
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        top = max((oh - 1) * sh + ph - h, 0) // 2
        left = max((ow - 1) * sw + pw - w, 0) // 2
    else:
        oh, ow, top, left = (h - ph) // sh + 1, (w - pw) // sw + 1, 0, 0
    out = np.zeros((oh, ow, c), np.float32)
    for y in range(oh):
        for xo in range(ow):
            for ch in range(c):
                best = -np.inf
                for i in range(ph):
                    for j in range(pw):
                        r, col = y * sh + i - top, xo * sw + j - left
                        if 0 <= r < h and 0 <= col < w:
                            best = max(best, float(x[r, col, ch]))
                out[y, xo, ch] = best
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("pool", "strides"), [((2, 2), None), ((3, 2), (2, 1)), ((2, 3), (3, 3))])
def test_max_pool_matches_loops(pool, strides, padding):
    rng = np.random.default_rng(3)
    for shape in [(7, 9, 2), (8, 8, 1), (5, 6, 3)]:
        x = rng.standard_normal(shape).astype(np.float32) - 2.0  # all-negative windows too
        got = max_pool2d(x, pool, strides, padding)
        want = slow_max_pool(x, pool, strides or pool, padding)
        np.testing.assert_array_equal(got, want)
        assert got.shape == PoolLayer(pool, strides, padding).output_shape(shape)


def slow_conv_layer(x, layer: ConvLayer):
    s = layer.settings
    pad = reference_padding(s.padding, x.shape[:2], s.kernel_size, s.strides, s.dilation)
    bias = layer.bias if s.use_bias else None
    _, pre = reference_conv(
        x, layer.kernel, bias, s.strides, pad, s.dilation, s.groups, "zeros", False
    )
    return np.maximum(pre, 0) if s.activation == "relu" else pre


def test_forward_is_each_layer_after_the_other():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((13, 11, 3)).astype(np.float32)
    first = new_conv_layer(3, rng, filters=4)
    second = ConvLayer(
        rng.standard_normal((3, 2, 2, 4)).astype(np.float32),
        rng.standard_normal(4).astype(np.float32),
        LayerSettings(kernel_size=(3, 2), filters=4, groups=2, padding="same", activation=None),
    )
    pool = PoolLayer((2, 2), None, "same")
    layers = (first, pool, second)
    want = slow_conv_layer(slow_max_pool(slow_conv_layer(x, first), (2, 2), (2, 2), "same"), second)
    got = forward(x, layers)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert shapes(x.shape, layers) == [(13, 11, 3), (11, 9, 4), (6, 5, 4), (6, 5, 4)]


def test_forward_refuses_a_layer_with_nothing_to_read():
    layers = (new_conv_layer(1, np.random.default_rng(0)), PoolLayer((4, 4)))
    with pytest.raises(ValueError, match="output of layer 3"):
        forward(
            np.zeros((6, 6, 1), np.float32), (*layers, new_conv_layer(4, np.random.default_rng(0)))
        )
    assert shapes((6, 6, 1), (*layers, new_conv_layer(4, np.random.default_rng(0))))[-1][:2] == (
        0,
        0,
    )


def test_fit_layers_keeps_the_kernels_that_still_fit():
    rng = np.random.default_rng(5)
    second = new_conv_layer(4, rng, filters=3)
    pool = PoolLayer()
    fewer = fit_layers((pool, second), 2, rng)
    assert fewer[0] is pool
    assert fewer[1].kernel.shape == (3, 3, 2, 3)
    np.testing.assert_array_equal(fewer[1].kernel, second.kernel[:, :, :2])
    more = fit_layers((second,), 6, rng)
    np.testing.assert_array_equal(more[0].kernel[:, :, :4], second.kernel)
    assert fit_layers((second,), 4, rng)[0] is second  # nothing to fit


def stacked_document():
    rng = np.random.default_rng(6)
    doc = default_document(rng.random((16, 14, 3)).astype(np.float32))
    doc.after = (PoolLayer(), new_conv_layer(2, rng, filters=3))
    doc.check()
    return doc


def test_showing_a_deeper_layer_reads_what_the_layers_before_made():
    doc = stacked_document()
    x = doc.input
    first = doc.shown_layer()
    heard = []
    doc.subscribe(heard.append)
    doc.show_layer(2)
    assert doc.shown == 2 and heard[-1].input and heard[-1].weights and heard[-1].settings
    want = slow_max_pool(slow_conv_layer(x, first), (2, 2), (2, 2), "valid")
    np.testing.assert_allclose(doc.input, want, rtol=1e-5, atol=1e-6)
    assert not doc.input.flags.writeable  # painting stays on the network's input
    assert doc.channel_names == ("pooled map 1 of layer 1", "pooled map 2 of layer 1")
    assert doc.kernel.shape == (3, 3, 2, 3) and doc.kernel.flags.writeable
    assert doc.network_input is x and doc.network_names == ("R", "G", "B")
    doc.show_layer(0)
    assert doc.input is x and doc.channel_names == ("R", "G", "B")
    assert doc.shown_layer() == first


def test_a_pooling_layer_has_no_insides_to_show():
    doc = stacked_document()
    with pytest.raises(ValueError, match="MaxPooling2D"):
        doc.show_layer(1)
    with pytest.raises(ValueError, match="no layer 5"):
        doc.show_layer(4)
    assert doc.shown == 0


def test_network_state_round_trip_and_edits_of_a_deeper_layer_are_kept():
    doc = stacked_document()
    doc.show_layer(2)
    doc.kernel[0, 0, 1, 2] = 7.5
    doc.selected_filter = 2
    state = doc.network_state()
    assert state["shown"] == 2 and len(state["layers"]) == 2
    again = Document.from_network(state)
    assert again.shown == 2 and again.kernel[0, 0, 1, 2] == 7.5
    assert again.selected_filter == 2
    np.testing.assert_array_equal(again.input, doc.input)
    doc.show_layer(0)
    doc.show_layer(2)
    assert doc.kernel[0, 0, 1, 2] == 7.5 and doc.selected_filter == 2


def test_a_stack_whose_kernels_do_not_read_the_channels_before_is_refused():
    doc = stacked_document()
    with pytest.raises(ValueError, match="layer 2's kernel tensor"):
        Document(**doc.snapshot(), after=(new_conv_layer(3, np.random.default_rng(0)),))
    state = doc.network_state()
    state["layers"] = (*state["layers"], PoolLayer(), PoolLayer())
    with pytest.raises(ValueError, match="at most 4 layers"):
        Document.from_network(state)


def test_stored_layers_cannot_be_changed_in_place():
    layer = new_conv_layer(2, np.random.default_rng(0))
    with pytest.raises(ValueError):
        layer.kernel[0, 0, 0, 0] = 1.0


def test_the_shapes_of_a_network_name_each_layer_and_its_parameters():
    doc = stacked_document()  # 16x14x3 -> Conv2D(2, 3x3) -> pool 2x2 -> Conv2D(3, 3x3)
    rows = summary(doc.network_input.shape, doc.network_layers())
    table = dict(network_shapes(doc.network_input.shape, rows, shown=2))
    # 3·3·3·2 + 2 = 56 and 3·3·2·3 + 3 = 57 parameters, counted by hand.
    assert table["layer 1 Conv2D(2, 3×3)"] == "(16, 14, 3) → (14, 12, 2), 56 parameters"
    assert table["layer 2 MaxPooling2D(2×2)"] == "(14, 12, 2) → (7, 6, 2)"
    assert table["▶ layer 3 Conv2D(3, 3×3)"] == "(7, 6, 2) → (5, 4, 3), 57 parameters"
    assert table["parameters of the network"] == "113"
