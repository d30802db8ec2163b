"""conv2d against a slow reference written from the definition of a Keras Conv2D."""

import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convviz.core.conv as conv
import convviz.core.correlation as correlation
from convviz.core.conv import ConvResult, conv2d, conv_geometry, pad_input

# Scalar activations, straight from the Keras documentation.
SCALAR_ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: max(z, 0.0),
    "leaky_relu": lambda z: z if z > 0 else 0.2 * z,
    "relu6": lambda z: min(max(z, 0.0), 6.0),
    "elu": lambda z: z if z > 0 else math.exp(z) - 1,
    "selu": lambda z: 1.0507009873554805 * (z if z > 0 else 1.6732632423543772 * (math.exp(z) - 1)),
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    "hard_sigmoid": lambda z: min(max(z + 3, 0.0), 6.0) / 6,
    "tanh": math.tanh,
    "softplus": lambda z: math.log(1 + math.exp(z)),
    "softsign": lambda z: z / (1 + abs(z)),
    "silu": lambda z: z / (1 + math.exp(-z)),
    "exponential": math.exp,
}


def tf_same(size, k, s, d):
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def reference_padding(padding, hw, kernel, strides, dilation):
    if isinstance(padding, str):
        name = padding.lower()
        if name == "valid":
            return (0, 0, 0, 0)
        if name == "full":
            ph, pw = ((k - 1) * d for k, d in zip(kernel, dilation, strict=True))
            return (ph, ph, pw, pw)
        return tf_same(hw[0], kernel[0], strides[0], dilation[0]) + tf_same(
            hw[1], kernel[1], strides[1], dilation[1]
        )
    if isinstance(padding, int):
        return (padding,) * 4
    return tuple(padding)


def sample(x, r, c, ch, mode):
    """x[r, c, ch] with out-of-range indices resolved by the padding mode."""
    h, w = x.shape[:2]
    if not (0 <= r < h and 0 <= c < w):
        if mode == "zeros":
            return 0.0
        if mode == "replicate":
            r, c = min(max(r, 0), h - 1), min(max(c, 0), w - 1)
        elif mode == "circular":
            r, c = r % h, c % w
        else:  # reflect: mirror about the edge pixel, which is not repeated
            r = -r if r < 0 else (2 * (h - 1) - r if r >= h else r)
            c = -c if c < 0 else (2 * (w - 1) - c if c >= w else c)
    return float(x[r, c, ch])


def reference_conv(x, kernel, bias, strides, pad, dilation, groups, mode, flip):
    """Kernel maps (H', W', Cg, F) and pre-activation (H', W', F) by explicit loops."""
    h, w, c_in = x.shape
    kh, kw, cg, filters = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    top, bottom, left, right = pad
    h_out = (h + top + bottom - (kh - 1) * dh - 1) // sh + 1
    w_out = (w + left + right - (kw - 1) * dw - 1) // sw + 1
    maps = np.zeros((h_out, w_out, cg, filters))
    pre = np.zeros((h_out, w_out, filters))
    for y in range(h_out):
        for xo in range(w_out):
            for f in range(filters):
                g = f // (filters // groups)
                for c in range(cg):
                    total = 0.0
                    for i in range(kh):
                        for j in range(kw):
                            ki, kj = (kh - 1 - i, kw - 1 - j) if flip else (i, j)
                            r = y * sh + i * dh - top
                            col = xo * sw + j * dw - left
                            total += kernel[ki, kj, c, f] * sample(x, r, col, g * cg + c, mode)
                    maps[y, xo, c, f] = total
                pre[y, xo, f] = maps[y, xo, :, f].sum() + (0.0 if bias is None else bias[f])
    return maps, pre


def assert_close(actual, expected, scale):
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * max(scale, 1.0))


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 2))
    cg = draw(st.integers(1, 4))
    fg = draw(st.integers(1, 2))
    filters = groups * fg
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    if draw(st.integers(0, 3)):  # mostly layers Keras accepts: strides or dilation at 1
        strides, dilation = (strides, 1) if draw(st.booleans()) else (1, dilation)
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same", "full", "SAME", "Valid"]),
            st.integers(0, 2),
            st.tuples(*[st.integers(0, 2)] * 4),
        )
    )
    selection = draw(
        st.one_of(
            st.none(),
            st.integers(0, filters - 1),
            st.lists(st.integers(0, filters - 1), min_size=0, max_size=filters),
        )
    )
    return {
        "shape": (draw(st.integers(1, 6)), draw(st.integers(1, 6)), groups * cg),
        "kernel_shape": kernel + (cg, filters),
        "batch": draw(st.sampled_from([None, None, 1, 2])),
        "bias": draw(st.booleans()),
        "strides": strides,
        "dilation_rate": dilation,
        "padding": padding,
        "padding_mode": draw(st.sampled_from(conv.PADDING_MODES)),
        "groups": groups,
        "activation": draw(st.sampled_from(sorted(SCALAR_ACTIVATIONS) + [None, "swish"])),
        "flip_kernel": draw(st.booleans()),
        "kernel_map_filters": selection,
        "engine": draw(st.sampled_from(["auto", "rows", "im2col"])),
        "block_bytes": draw(st.sampled_from([correlation._BLOCK_BYTES, 1])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_matches_reference(case):
    rng = np.random.default_rng(case["seed"])
    batch = () if case["batch"] is None else (case["batch"],)
    x = rng.standard_normal(batch + case["shape"]).astype(np.float32)
    kernel = rng.standard_normal(case["kernel_shape"]).astype(np.float32)
    filters = kernel.shape[3]
    bias = rng.standard_normal(filters).astype(np.float32) if case["bias"] else None
    kwargs = {k: case[k] for k in ("strides", "dilation_rate", "padding", "padding_mode")}
    kwargs |= {k: case[k] for k in ("groups", "activation", "flip_kernel", "kernel_map_filters")}
    strides, dilation = pair(case["strides"]), pair(case["dilation_rate"])
    pad = reference_padding(case["padding"], case["shape"][:2], kernel.shape[:2], strides, dilation)
    padded = (case["shape"][0] + pad[0] + pad[1], case["shape"][1] + pad[2] + pad[3])
    spans = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:2], dilation, strict=True)]
    min_taps = {"auto": correlation._MIN_ROW_TAPS, "rows": 1, "im2col": 10**9}[case["engine"]]

    with (
        mock.patch.object(correlation, "_MIN_ROW_TAPS", min_taps),
        mock.patch.object(correlation, "_BLOCK_BYTES", case["block_bytes"]),
    ):
        if spans[0] > padded[0] or spans[1] > padded[1]:
            with pytest.raises(ValueError, match="empty"):
                conv2d(x, kernel, bias, **kwargs)
            return
        if max(strides) > 1 and max(dilation) > 1:
            with pytest.raises(ValueError, match="strides > 1 .* dilation_rate > 1"):
                conv2d(x, kernel, bias, **kwargs)
            return
        too_much = pad[0] >= x.shape[-3] or pad[1] >= x.shape[-3]
        too_much |= pad[2] >= x.shape[-2] or pad[3] >= x.shape[-2]
        if case["padding_mode"] == "reflect" and too_much:
            with pytest.raises(ValueError, match="reflect"):
                conv2d(x, kernel, bias, **kwargs)
            return
        res = conv2d(x, kernel, bias, **kwargs)

    selection = case["kernel_map_filters"]
    if selection is None:
        selected = tuple(range(filters))
    elif isinstance(selection, int):
        selected = (selection,)
    else:
        selected = tuple(sorted(set(selection)))
    act = SCALAR_ACTIVATIONS[
        {None: "linear", "swish": "silu"}.get(case["activation"]) or case["activation"]
    ]
    assert res.padding == pad
    assert res.kernel_map_filters == selected
    images = x if batch else x[None]
    for n, image in enumerate(images):
        maps, pre = reference_conv(
            image,
            kernel,
            bias,
            strides,
            pad,
            dilation,
            case["groups"],
            case["padding_mode"],
            case["flip_kernel"],
        )
        index = (n,) if batch else ()
        assert res.output_shape == batch + pre.shape
        scale = float(np.abs(maps).max(initial=0) * kernel.shape[2] + 1)
        assert_close(res.kernel_maps[index], maps[..., list(selected)], scale)
        assert_close(res.pre_activation[index], pre, scale)
        expected = np.vectorize(act, otypes=[float])(pre) if pre.size else pre
        assert_close(res.feature_maps[index], expected, scale * max(1, np.abs(expected).max()))
        for k, f in enumerate(selected):
            assert_close(res.kernel_maps_of(f)[index], maps[..., f], scale)
            assert res.kernel_maps[index][..., k].shape == maps.shape[:3]
    for arr in (res.kernel_maps, res.pre_activation, res.feature_maps):
        assert arr.dtype == np.float32


def test_keras_doc_example_shapes():
    x = np.random.default_rng(0).standard_normal((4, 28, 28, 3))
    kernel = np.ones((3, 3, 3, 2))
    res = conv2d(x, kernel, np.zeros(2), activation="relu")
    assert res.output_shape == (4, 26, 26, 2)
    assert res.feature_maps.shape == (4, 26, 26, 2)
    assert res.kernel_maps.shape == (4, 26, 26, 3, 2)
    assert res.kernel_maps_of(1).shape == (4, 26, 26, 3)
    assert res.param_count == 3 * 3 * 3 * 2 + 2
    assert conv2d(x, kernel, dilation_rate=2).output_shape == (4, 24, 24, 2)


def test_same_padding_with_stride_puts_extra_pixel_bottom_right():
    x = np.arange(35, dtype=np.float32).reshape(5, 7, 1)
    res = conv2d(x, np.ones((3, 4, 1, 1)), strides=2, padding="same")
    assert res.output_shape == (3, 4, 1)
    # rows: total = (3 - 1) * 2 + 3 - 5 = 2 -> (1, 1); cols: (4 - 1) * 2 + 4 - 7 = 3 -> (1, 2)
    assert res.padding == (1, 1, 1, 2)
    geom = conv_geometry((5, 7, 1), (2, 2), strides=2, padding="same")
    # rows: (3 - 1) * 2 + 2 - 5 = 1 -> (0, 1); cols: (4 - 1) * 2 + 2 - 7 = 1 -> (0, 1)
    assert geom.padding == (0, 1, 0, 1)
    assert geom.output_size == (3, 4)


def test_full_padding_and_geometry_fields():
    geom = conv_geometry((5, 6), (3, 2), strides=(1, 2), padding="full", dilation_rate=(2, 1))
    assert geom.padding == (4, 4, 1, 1)
    assert geom.effective_kernel_size == (5, 2)
    assert geom.padded_size == (13, 8)
    assert geom.output_size == (9, 4)


def test_input_window():
    geom = conv_geometry((6, 6, 1), 3, strides=2, padding="same", dilation_rate=1)
    assert geom.padding == (0, 1, 0, 1)
    assert geom.input_window(2, 0) == ((4, 5, 6), (0, 1, 2))
    assert geom.input_window(2, 0, padded=True) == ((4, 5, 6), (0, 1, 2))
    geom = conv_geometry((4, 4), 2, padding=(1, 0, 2, 0), dilation_rate=2)
    assert geom.input_window(0, 1) == ((-1, 1), (-1, 1))
    assert geom.input_window(0, 1, padded=True) == ((0, 2), (1, 3))
    with pytest.raises(ValueError, match="output"):
        geom.input_window(5, 0)


def test_empty_output_allowed_only_on_request():
    with pytest.raises(ValueError, match="empty"):
        conv_geometry((4, 4), 5)
    geom = conv_geometry((4, 9), 5, allow_empty=True)
    assert geom.output_size == (0, 5)


@pytest.mark.parametrize("mode", conv.PADDING_MODES)
def test_pad_input_modes(mode):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 2))
    padded = pad_input(x, (2, 1, 3, 2), mode)
    assert padded.shape == (2, 6, 9, 2) and padded.dtype == np.float32
    for n in range(2):
        for r in range(6):
            for c in range(9):
                for ch in range(2):
                    want = sample(x[n], r - 2, c - 3, ch, mode)
                    assert padded[n, r, c, ch] == pytest.approx(want, rel=1e-6)


def test_flip_kernel_is_true_convolution():
    x = np.zeros((5, 5, 1))
    x[2, 2] = 1.0
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    # Convolving an impulse reproduces the kernel; correlating it gives it rotated.
    assert np.array_equal(
        conv2d(x, kernel, flip_kernel=True).feature_maps[..., 0], kernel[..., 0, 0]
    )
    assert np.array_equal(conv2d(x, kernel).feature_maps[..., 0], kernel[::-1, ::-1, 0, 0])


def test_integer_and_bool_inputs_are_converted():
    res = conv2d(np.ones((3, 3, 1), dtype=bool), np.ones((2, 2, 1, 1), dtype=np.int64), [1])
    assert res.feature_maps.dtype == np.float32
    assert np.array_equal(res.feature_maps[..., 0], np.full((2, 2), 5.0))


def test_results_are_read_only_and_param_count_without_bias():
    res = conv2d(np.ones((4, 4, 2)), np.ones((3, 3, 1, 4)), groups=2, kernel_map_filters=[3, 0])
    assert isinstance(res, ConvResult)
    assert res.kernel_map_filters == (0, 3)
    assert res.param_count == 3 * 3 * 1 * 4
    with pytest.raises(ValueError):
        res.feature_maps[0, 0, 0] = 1
    with pytest.raises(ValueError, match="not computed"):
        res.kernel_maps_of(1)


X = np.ones((5, 5, 2))
K = np.ones((3, 3, 2, 4))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"strides": 0}, "strides"),
        ({"strides": 1.5}, "strides"),
        ({"strides": (1, 2, 3)}, "strides"),
        ({"dilation_rate": -1}, "dilation_rate"),
        ({"dilation_rate": True}, "dilation_rate"),
        ({"x": np.ones((5, 5, 1, 1, 1))}, "x must have shape"),
        ({"x": np.ones((5, 5))}, "x must have shape"),
        ({"kernel": np.ones((3, 3, 2))}, "kernel must have shape"),
        ({"kernel": np.ones((7, 7, 2, 4))}, "empty"),
        ({"kernel": np.ones((3, 3, 2, 4)), "dilation_rate": 3}, "empty"),
        ({"groups": 3}, "groups"),
        ({"groups": 0}, "groups"),
        ({"kernel": np.ones((3, 3, 2, 3)), "groups": 2}, "groups"),
        ({"kernel": np.ones((3, 3, 1, 4))}, "C_in // groups"),
        ({"kernel": np.ones((3, 3, 2, 4)), "groups": 2}, "C_in // groups"),
        ({"bias": np.ones(3)}, "bias"),
        ({"bias": np.ones((4, 1))}, "bias"),
        ({"x": np.full((5, 5, 2), np.nan)}, "NaN"),
        ({"kernel": np.full((3, 3, 2, 4), np.inf)}, "infinite"),
        ({"bias": [0, 0, np.nan, 0]}, "bias contains"),
        ({"x": np.full((5, 5, 2), 1e300)}, "NaN or infinite"),
        ({"x": np.array([["a"]])}, "real numbers"),
        ({"padding": "middle"}, "padding"),
        ({"padding": -1}, "non-negative"),
        ({"padding": (1, 1, -1, 1)}, "non-negative"),
        ({"padding": (1, 1)}, "padding"),
        ({"padding_mode": "mirror"}, "padding_mode"),
        ({"padding": 5, "padding_mode": "reflect"}, "reflect"),
        ({"activation": "gelu2"}, "activation"),
        ({"activation": 3}, "activation"),
        ({"kernel_map_filters": 4}, "kernel_map_filters"),
        ({"kernel_map_filters": [-1]}, "kernel_map_filters"),
        ({"kernel": np.ones((0, 3, 2, 4))}, "kernel"),
        # Keras' own rule: no stride above 1 with a dilation above 1, on any axes.
        ({"strides": 2, "dilation_rate": 2}, r"strides > 1 .* dilation_rate > 1"),
        ({"strides": (2, 1), "dilation_rate": (1, 2)}, r"strides=\(2, 1\), dilation_rate"),
        ({"strides": (1, 3), "dilation_rate": (2, 1)}, "set one of them to 1"),
    ],
)
def test_invalid_arguments(kwargs, word):
    args = {"x": X, "kernel": K} | kwargs
    with pytest.raises(ValueError, match=word):
        conv2d(**args)


def test_pad_input_rejects_names_and_bad_modes():
    with pytest.raises(ValueError, match="explicit padding"):
        pad_input(X, "same")
    with pytest.raises(ValueError, match="padding_mode"):
        pad_input(X, (1, 1, 1, 1), "wrap")
