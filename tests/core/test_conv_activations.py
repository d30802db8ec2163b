"""Activations and their derivatives."""

import numpy as np
import pytest

from convviz.core.activations import (
    ACTIVATIONS,
    activate,
    activate_into,
    activation_derivative,
    canonical_activation,
)

# Away from the kinks at 0, 6 (relu6) and +-3 (hard_sigmoid), where the finite
# difference is undefined.
Z = np.array([-8.0, -4.2, -2.5, -1.1, -0.3, 0.2, 0.9, 1.7, 2.9, 4.4, 5.5, 7.0, 12.0])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivative_matches_finite_difference(name):
    h = 1e-3
    z = Z.astype(np.float32)
    numeric = (activate(name, Z + h).astype(np.float64) - activate(name, Z - h)) / (2 * h)
    analytic = activation_derivative(name, z)
    assert analytic.dtype == np.float32 and analytic.shape == z.shape
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_extreme_inputs_do_not_warn(name):
    z = np.array([-1e4, -100.0, 0.0, 100.0], dtype=np.float32)
    # A warning would be printed on every edit in the app; underflow to 0 is harmless.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = activate(name, z)
        deriv = activation_derivative(name, z)
    assert out.dtype == np.float32
    if name == "exponential":  # exp(100) does not fit in float32, as in Keras
        assert out[-1] == np.inf and deriv[-1] == np.inf
    else:
        assert np.isfinite(out).all() and np.isfinite(deriv).all()


def test_known_values():
    z = np.array([-2.0, 0.0, 2.0, 8.0])
    assert np.allclose(activate("leaky_relu", z), [-0.4, 0, 2, 8])
    assert np.allclose(activate("relu6", z), [0, 0, 2, 6])
    assert np.allclose(activate("hard_sigmoid", z), [1 / 6, 0.5, 5 / 6, 1])
    assert np.allclose(activate("selu", [1.0]), [1.0507009873554805])
    assert np.allclose(activate("swish", z), z / (1 + np.exp(-z)))
    assert np.allclose(activation_derivative("relu", [0.0]), [0.0])


def test_names():
    assert ACTIVATIONS[0] == "linear"
    assert canonical_activation(None) == "linear"
    assert canonical_activation(" ReLU ") == "relu"
    assert canonical_activation("swish") == "silu"
    with pytest.raises(ValueError, match="activation must be one of"):
        canonical_activation("gelu")
    z = np.ones(3, dtype=np.float32)
    assert activate(None, z) is not z


def test_relu_into_matches_max_with_zero_on_every_kind_of_float():
    """relu on float32 works on the bit patterns; it must equal max(z, 0) exactly,
    including negative zero, subnormals, the extremes and infinities."""
    tiny = np.finfo(np.float32).smallest_subnormal
    big = np.finfo(np.float32).max
    z = np.array(
        [-0.0, 0.0, tiny, -tiny, 1.5, -1.5, big, -big, np.inf, -np.inf], np.float32
    ).reshape(2, 5)
    out = np.full_like(z, 7.0)
    activate_into("relu", z, out)
    expected = [max(float(v), 0.0) for v in z.ravel()]
    assert out.ravel().tolist() == expected
    assert not np.signbit(out).any()  # -0.0 comes out as +0.0
    # Strided views (a column of a planar array) take the same path.
    out2 = np.zeros((5, 2), np.float32)
    activate_into("relu", z.T, out2)
    np.testing.assert_array_equal(out2, np.maximum(z.T, 0))
