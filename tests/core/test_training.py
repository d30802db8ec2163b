"""Gradients of one filter's loss checked against finite differences of a float64 loop."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convviz.core.model import LayerSettings
from convviz.core.training_loss import FilterSetup, filter_gradients

# Activations written out again in float64, from their textbook definitions (Keras
# constants), with the points where their derivative jumps.
SELU_A, SELU_S = 1.6732632423543772848, 1.0507009873554804934


def _sig(z):
    return 1 / (1 + np.exp(-z))


ACTS = {
    "linear": (lambda z: z, ()),
    "relu": (lambda z: np.maximum(z, 0), (0,)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.2 * z), (0,)),
    "relu6": (lambda z: np.clip(z, 0, 6), (0, 6)),
    "elu": (lambda z: np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1), ()),
    "selu": (lambda z: SELU_S * np.where(z > 0, z, SELU_A * (np.exp(np.minimum(z, 0)) - 1)), (0,)),
    "sigmoid": (_sig, ()),
    "hard_sigmoid": (lambda z: np.clip(z + 3, 0, 6) / 6, (-3, 3)),
    "tanh": (np.tanh, ()),
    "softplus": (lambda z: np.log1p(np.exp(z)), ()),
    "softsign": (lambda z: z / (1 + np.abs(z)), ()),
    "silu": (lambda z: z * _sig(z), ()),
    "exponential": (np.exp, ()),
}


def explicit_padding(padding, size, k_eff, stride):
    """(top, bottom, left, right) from the Keras/TensorFlow rules, per axis."""
    if isinstance(padding, tuple):
        return padding
    pads = []
    for n, k, s in zip(size, k_eff, stride, strict=True):
        if padding == "valid":
            pads += [0, 0]
        elif padding == "full":
            pads += [k - 1, k - 1]
        else:
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
    return tuple(pads)


NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pre_activation_loop(x, w, b, strides, padding, dilation, mode, flip):
    """z[r, s] = sum over taps of w * x_pad, pixel by pixel, in float64."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    if flip:
        w = w[::-1, ::-1]
    kh, kw, cg = w.shape
    k_eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    t, bo, le, ri = explicit_padding(padding, x.shape[:2], k_eff, strides)
    xp = np.pad(x, ((t, bo), (le, ri), (0, 0)), mode=NUMPY_MODE[mode])
    h_out = (xp.shape[0] - k_eff[0]) // strides[0] + 1
    w_out = (xp.shape[1] - k_eff[1]) // strides[1] + 1
    z = np.zeros((h_out, w_out))
    for r in range(h_out):
        for s in range(w_out):
            total = b
            for i in range(kh):
                for j in range(kw):
                    for c in range(cg):
                        y = r * strides[0] + i * dilation[0]
                        xx = s * strides[1] + j * dilation[1]
                        total += w[i, j, c] * xp[y, xx, c]
            z[r, s] = total
    return z


@st.composite
def problems(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    assume(max(strides) == 1 or max(dil) == 1)  # Keras refuses both above 1
    groups = draw(st.sampled_from([1, 2]))
    cg = draw(st.integers(1, 2))
    filters = groups * draw(st.integers(1, 2))
    h = draw(st.integers((kh - 1) * dil[0] + 2, 7))
    w = draw(st.integers((kw - 1) * dil[1] + 2, 7))
    padding = draw(st.sampled_from(["valid", "same", "full"]) | st.tuples(*[st.integers(0, 1)] * 4))
    s = LayerSettings(
        kernel_size=(kh, kw),
        filters=filters,
        strides=strides,
        padding=padding,
        dilation=dil,
        groups=groups,
        activation=draw(st.sampled_from(sorted(ACTS))),
        use_bias=draw(st.booleans()),
        padding_mode=draw(st.sampled_from(sorted(NUMPY_MODE))),
        flip_kernel=draw(st.booleans()),
    )
    if s.padding_mode == "reflect":
        k_eff = ((kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1)
        t, b, le, r = explicit_padding(padding, (h, w), k_eff, strides)
        assume(max(t, b) < h and max(le, r) < w)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    state = dict(
        input=rng.uniform(-1, 1, (h, w, cg * groups)).astype(np.float32),
        kernel=rng.uniform(-0.7, 0.7, (kh, kw, cg, filters)).astype(np.float32),
        bias=rng.uniform(-0.5, 0.5, filters).astype(np.float32),
        settings=s,
        selected_filter=draw(st.integers(0, filters - 1)),
    )
    return state, rng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_gradients_match_central_differences(problem):
    state, rng = problem
    s, f = state["settings"], state["selected_filter"]
    cg = state["kernel"].shape[2]
    group = f // (s.filters // s.groups)
    x = state["input"][:, :, group * cg : (group + 1) * cg]
    kernel, bias = state["kernel"][..., f], float(state["bias"][f])
    act, kinks = ACTS[s.activation]
    b_used = bias if s.use_bias else 0.0
    args = (s.strides, s.padding, s.dilation, s.padding_mode, s.flip_kernel)
    z = pre_activation_loop(x, kernel, b_used, *args)
    # Finite differences straddling a kink measure neither side's slope.
    assume(all(np.abs(z - k).min() > 1e-3 for k in kinks))
    target = rng.uniform(-1, 1, z.shape)

    def loss(w, b):
        return np.mean(
            (act(pre_activation_loop(x, w, b if s.use_bias else 0.0, *args)) - target) ** 2
        )

    setup = FilterSetup.from_state(state)
    got_loss, d_kernel, d_bias = filter_gradients(setup, kernel, bias, target)
    h = 1e-6
    fd = np.zeros(kernel.shape)
    w64 = kernel.astype(np.float64)
    for idx in np.ndindex(kernel.shape):
        up, down = w64.copy(), w64.copy()
        up[idx] += h
        down[idx] -= h
        fd[idx] = (loss(up, bias) - loss(down, bias)) / (2 * h)
    fd_bias = (loss(w64, bias + h) - loss(w64, bias - h)) / (2 * h) if s.use_bias else 0.0
    scale = max(1.0, np.abs(fd).max(), abs(fd_bias))
    np.testing.assert_allclose(got_loss, loss(w64, bias), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_kernel, fd, rtol=1e-3, atol=2e-5 * scale)
    assert d_bias == pytest.approx(fd_bias, rel=1e-3, abs=2e-5 * scale)
    # Gathering the windows a row of output pixels at a time gives the same numbers.
    small = filter_gradients(setup, kernel, bias, target, budget=1)
    # Same sums in another order: float32 rounding relative to the largest gradient.
    np.testing.assert_allclose(small[1], d_kernel, rtol=1e-5, atol=1e-6 * scale)
    assert small[0] == pytest.approx(got_loss, rel=1e-6)


def test_padding_mode_changes_the_gradient_as_the_padded_pixels_do():
    # A 1x1 input padded by 1: only the padding mode decides what the border taps see.
    x = np.array([[[2.0]]], np.float32)
    kernel = np.zeros((3, 3, 1), np.float32)
    target = np.array([[1.0]])
    conv = dict(
        strides=(1, 1), padding="same", dilation_rate=(1, 1), activation="linear", flip_kernel=False
    )
    grads = {}
    for mode in ("zeros", "replicate"):
        setup = FilterSetup(x=x, conv=dict(conv, padding_mode=mode), use_bias=False)
        grads[mode] = filter_gradients(setup, kernel, 0.0, target)[1][:, :, 0]
    # delta = 2 * (0 - 1) = -2; dL/dw[i, j] = delta * x_pad[i, j].
    expected_zeros = np.zeros((3, 3))
    expected_zeros[1, 1] = -4.0
    np.testing.assert_allclose(grads["zeros"], expected_zeros)
    np.testing.assert_allclose(grads["replicate"], np.full((3, 3), -4.0))
