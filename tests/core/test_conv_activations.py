"""Activations and their derivatives."""

import numpy as np
import pytest

from convviz.core.activations import (
    ACTIVATIONS,
    activate,
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
