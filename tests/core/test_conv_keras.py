"""conv2d against a real keras.layers.Conv2D (skipped where Keras is not installed).

Run locally with Keras 3 and torch installed, e.g.::

    KERAS_BACKEND=torch PYTHONPATH=. pytest -s tests/core/test_conv_keras.py
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from convviz.core.activations import ACTIVATIONS  # noqa: E402
from convviz.core.conv import conv2d  # noqa: E402

N_CASES = 500


def random_case(rng):
    groups = int(rng.choice([1, 1, 2, 3]))
    c_in = groups * int(rng.integers(1, 4))
    filters = groups * int(rng.integers(1, 4))
    kernel_size = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    # Keras refuses strides > 1 together with dilation > 1.
    if rng.random() < 0.5:
        strides, dilation = (int(rng.integers(1, 4)), int(rng.integers(1, 4))), (1, 1)
    else:
        strides, dilation = (1, 1), (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    span = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation, strict=True)]
    shape = tuple(int(rng.integers(s, s + 12)) for s in span) + (c_in,)
    return {
        "x": rng.standard_normal((int(rng.integers(1, 3)),) + shape).astype(np.float32),
        "kernel": rng.standard_normal(kernel_size + (c_in // groups, filters)).astype(np.float32),
        "bias": rng.standard_normal(filters).astype(np.float32) if rng.random() < 0.8 else None,
        "strides": strides,
        "dilation_rate": dilation,
        "padding": str(rng.choice(["valid", "same"])),
        "groups": groups,
        "activation": str(rng.choice(ACTIVATIONS)),
    }


def keras_output(case):
    kernel, bias = case["kernel"], case["bias"]
    layer = keras.layers.Conv2D(
        filters=kernel.shape[3],
        kernel_size=kernel.shape[:2],
        strides=case["strides"],
        padding=case["padding"],
        dilation_rate=case["dilation_rate"],
        groups=case["groups"],
        activation=case["activation"],
        use_bias=bias is not None,
    )
    layer.build(case["x"].shape)
    layer.set_weights([kernel] if bias is None else [kernel, bias])
    return keras.ops.convert_to_numpy(layer(case["x"])), layer.count_params()


def test_matches_keras_conv2d():
    rng = np.random.default_rng(2024)
    worst_abs = worst_rel = 0.0
    for _ in range(N_CASES):
        case = random_case(rng)
        expected, params = keras_output(case)
        res = conv2d(**case)
        assert res.output_shape == expected.shape
        assert res.param_count == params
        # float32 sums of products: error grows with the magnitude of the terms.
        scale = float(np.abs(res.pre_activation).max()) + 1
        err = np.abs(res.feature_maps - expected)
        if case["activation"] != "exponential":  # exp(20) = 5e8 has large absolute errors
            worst_abs = max(worst_abs, float(err.max(initial=0)))
        rel = err / (np.abs(expected) + scale)
        worst_rel = max(worst_rel, float(rel.max(initial=0)))
        np.testing.assert_allclose(res.feature_maps, expected, rtol=1e-5, atol=1e-5 * scale)
    print(
        f"\n{N_CASES} Keras cases: max abs error {worst_abs:.3g} (without 'exponential'), "
        f"max error relative to |output| + max|pre-activation| + 1: {worst_rel:.3g}"
    )
