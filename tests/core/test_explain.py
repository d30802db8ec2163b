"""Per-pixel arithmetic, the sliding window and the shapes text, against slow loops."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convviz.core.conv import conv2d, conv_geometry
from convviz.core.explain import (
    filled_count,
    layer_shapes,
    partial_maps,
    pixel_arithmetic,
    pixel_arithmetic_of,
    step_pixel,
)
from convviz.core.model import LayerSettings, default_document


def _source(n: int, i: int, mode: str):
    """Input index read at (possibly out-of-range) position i, or None for a zero."""
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    return -i if i < 0 else 2 * (n - 1) - i  # reflect: mirror without repeating the edge


def slow_pixel(x, kernel, bias, f, r, c, pads, strides, dil, groups, mode, flip, act):
    """Kernel-map values, pre-activation and value of one pixel, by the definition."""
    h, w, _ = x.shape
    kh, kw, cg, filters = kernel.shape
    top, left = pads[0], pads[2]
    g = f // (filters // groups)
    totals = []
    for k in range(cg):
        total = 0.0
        for i in range(kh):
            for j in range(kw):
                y = _source(h, r * strides[0] + i * dil[0] - top, mode)
                xx = _source(w, c * strides[1] + j * dil[1] - left, mode)
                v = 0.0 if y is None or xx is None else float(x[y, xx, g * cg + k])
                wgt = kernel[kh - 1 - i, kw - 1 - j, k, f] if flip else kernel[i, j, k, f]
                total += v * float(wgt)
        totals.append(total)
    pre = sum(totals) + (0.0 if bias is None else float(bias[f]))
    value = {"linear": pre, "relu": max(pre, 0.0), "tanh": math.tanh(pre)}[act]
    return totals, pre, value


def _same(n, k, s, d):
    k_eff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


CASES = st.fixed_dictionaries(
    dict(
        h=st.integers(3, 7),
        w=st.integers(3, 7),
        c=st.sampled_from([1, 2, 4]),
        kh=st.integers(1, 3),
        kw=st.integers(1, 3),
        strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
        dil=st.tuples(st.integers(1, 2), st.integers(1, 2)),
        padding=st.sampled_from(["valid", "same", "full", (1, 0, 2, 1)]),
        mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
        groups_all=st.booleans(),
        flip=st.booleans(),
        act=st.sampled_from(["linear", "relu", "tanh"]),
        bias=st.booleans(),
        seed=st.integers(0, 1000),
    )
).filter(lambda case: max(case["strides"]) == 1 or max(case["dil"]) == 1)  # as Keras


@settings(max_examples=60, deadline=None)
@given(CASES)
def test_pixel_arithmetic_matches_a_slow_loop_and_conv2d(case):
    rng = np.random.default_rng(case["seed"])
    h, w, c, kh, kw = (case[k] for k in ("h", "w", "c", "kh", "kw"))
    groups = c if case["groups_all"] else 1
    filters = 2 * groups
    x = rng.normal(size=(h, w, c)).astype(np.float32)
    kernel = rng.normal(size=(kh, kw, c // groups, filters)).astype(np.float32)
    bias = rng.normal(size=filters).astype(np.float32) if case["bias"] else None
    strides, dil, padding, mode = case["strides"], case["dil"], case["padding"], case["mode"]
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        pads = _same(h, kh, strides[0], dil[0]) + _same(w, kw, strides[1], dil[1])
    elif padding == "full":
        pads = ((kh - 1) * dil[0],) * 2 + ((kw - 1) * dil[1],) * 2
    else:
        pads = padding
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    h_out = (hp - (kh - 1) * dil[0] - 1) // strides[0] + 1
    w_out = (wp - (kw - 1) * dil[1] - 1) // strides[1] + 1
    if h_out < 1 or w_out < 1 or (mode == "reflect" and max(pads[:2]) >= h):
        return
    if mode == "reflect" and max(pads[2:]) >= w:
        return
    kwargs = dict(
        strides=strides,
        padding=padding,
        dilation_rate=dil,
        groups=groups,
        activation=case["act"],
        padding_mode=mode,
        flip_kernel=case["flip"],
    )
    res = conv2d(x, kernel, bias, **kwargs)
    f = int(rng.integers(filters))
    r, col = int(rng.integers(h_out)), int(rng.integers(w_out))
    got = pixel_arithmetic(x, kernel, bias, f, r, col, **kwargs)
    totals, pre, value = slow_pixel(
        x, kernel, bias, f, r, col, pads, strides, dil, groups, mode, case["flip"], case["act"]
    )
    assert res.feature_maps.shape[:2] == (h_out, w_out)
    for part, total in zip(got.channels, totals, strict=True):
        assert part.total == pytest.approx(total, rel=1e-5, abs=1e-5)
        assert float(np.sum(part.products, dtype=np.float64)) == pytest.approx(part.total)
        np.testing.assert_allclose(part.products, part.patch * part.kernel)
        assert part.total == pytest.approx(
            float(res.kernel_maps_of(f)[r, col, part.kernel_index]), rel=1e-4, abs=1e-4
        )
    assert got.pre_activation == pytest.approx(pre, rel=1e-5, abs=1e-5)
    assert got.value == pytest.approx(value, rel=1e-5, abs=1e-5)
    assert got.value == pytest.approx(float(res.feature_maps[r, col, f]), rel=1e-4, abs=1e-4)


def test_padding_taps_are_marked_and_hold_the_values_used():
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    kernel = np.ones((3, 3, 1, 1), np.float32)
    got = pixel_arithmetic(x, kernel, None, 0, 0, 0, padding="same", padding_mode="replicate")
    part = got.channels[0]
    assert part.rows == (-1, 0, 1) and part.cols == (-1, 0, 1)
    assert part.in_padding.tolist() == [[True] * 3, [True, False, False], [True, False, False]]
    # Replicated edge: the row above row 0 is row 0 again, the column left of col 0 is col 0.
    assert part.patch.tolist() == [[0, 0, 1], [0, 0, 1], [4, 4, 5]]
    zeros = pixel_arithmetic(x, kernel, None, 0, 0, 0, padding="same").channels[0]
    assert zeros.patch.tolist() == [[0, 0, 0], [0, 0, 1], [0, 4, 5]]


def test_flipped_and_muted_kernels_are_what_was_multiplied():
    x = np.ones((3, 3, 2), np.float32)
    kernel = np.arange(18, dtype=np.float32).reshape(3, 3, 2, 1)
    got = pixel_arithmetic(x, kernel, [1.5], 0, 0, 0, flip_kernel=True, muted=[1])
    assert got.channels[0].kernel.tolist() == kernel[::-1, ::-1, 0, 0].tolist()
    assert got.flipped and got.channels[1].muted and not got.channels[1].kernel.any()
    assert got.channels[1].total == 0
    assert got.pre_activation == float(kernel[..., 0, 0].sum()) + 1.5


def test_pixel_arithmetic_of_a_document_uses_its_settings():
    doc = default_document(np.random.default_rng(3).random((6, 5, 3)).astype(np.float32))
    doc.settings = LayerSettings(use_bias=False, activation="linear", strides=(2, 1))
    doc.bias[:] = 7
    got = pixel_arithmetic_of(doc.snapshot(), 1, 2, f=1)
    assert got.bias is None
    res = conv2d(doc.input, doc.kernel, None, **doc.settings.conv_kwargs())
    assert got.value == pytest.approx(float(res.feature_maps[1, 2, 1]), abs=1e-5)
    assert got.channels[0].rows == (2, 3, 4)


def test_partial_maps_fill_row_major_one_pixel_per_step():
    maps = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    assert np.isnan(partial_maps(maps, -1)).all()
    part = partial_maps(maps, 3)  # pixels (0,0) (0,1) (0,2) (1,0) done
    assert step_pixel((2, 3), 3) == (1, 0) and filled_count((2, 3), 3) == 4
    np.testing.assert_array_equal(part[0], maps[0])
    np.testing.assert_array_equal(part[1, 0], maps[1, 0])
    assert np.isnan(part[1, 1:]).all()
    np.testing.assert_array_equal(partial_maps(maps, 5), maps)
    assert not np.shares_memory(partial_maps(maps, 5), maps)
    with pytest.raises(ValueError):
        step_pixel((2, 3), 6)


@pytest.mark.parametrize(
    "padding, strides, dilation",
    [("valid", (1, 1), (1, 1)), ("same", (2, 3), (1, 1)), ("full", (1, 2), (2, 1))],
)
def test_layer_shapes_text_has_the_right_numbers(padding, strides, dilation):
    s = LayerSettings(
        kernel_size=(3, 2), filters=4, strides=strides, padding=padding, dilation=dilation, groups=2
    )
    rows = dict(layer_shapes((9, 8, 6), s))
    geom = conv_geometry((9, 8), (3, 2), strides, padding, dilation)
    assert rows["input (H, W, C_in)"] == "(9, 8, 6)"
    assert rows["one filter (kh, kw, C_in/groups)"].startswith("(3, 2, 3)")
    assert rows["all filters = kernel tensor (kh, kw, C_in/groups, filters)"] == "(3, 2, 3, 4)"
    assert rows["output (H', W', filters)"] == f"({geom.output_size[0]}, {geom.output_size[1]}, 4)"
    assert rows["parameters = kh·kw·C_in/groups·filters + filters (bias)"].endswith(
        f"= {3 * 2 * 3 * 4 + 4}"
    )
    text = "\n".join(line for what, line in layer_shapes((9, 8, 6), s) if not what)
    top, bottom, left, right = geom.padding
    assert f"= ⌊(9 + {top} + {bottom} − {dilation[0]}·(3−1) − 1)/{strides[0]}⌋ + 1" in text
    assert f"= {geom.output_size[1]}" in text
    if padding == "same":
        assert f"top = ⌊p/2⌋ = {top}, bottom = p − top = {bottom}" in text


def test_explain_and_weights_import_without_qt():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import convviz.core.explain, convviz.core.explain_code, convviz.io.weights\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
