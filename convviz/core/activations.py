"""Keras activation functions and their derivatives, in numpy.

Every function matches ``keras.activations`` (Keras 3) to float32 precision, so the
feature maps shown by the app are the ones a real ``Conv2D`` layer would produce.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

# Keras' SELU constants (Klambauer et al., 2017), copied from keras.activations.selu.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# keras.activations.leaky_relu and tf.nn.leaky_relu default; torch's default is 0.01.
LEAKY_RELU_SLOPE = 0.2

ACTIVATIONS = (
    "linear",
    "relu",
    "leaky_relu",
    "relu6",
    "elu",
    "selu",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softplus",
    "softsign",
    "silu",
    "exponential",
)
"""Canonical activation names, in the order a combo box should list them."""

_ALIASES = {"swish": "silu", "none": "linear"}


def canonical_activation(name: str | None) -> str:
    """Return the canonical name of an activation.

    Parameters
    ----------
    name : str or None
        An entry of `ACTIVATIONS` (any letter case), the alias ``"swish"``, or None
        for no activation.

    Returns
    -------
    str
        One of `ACTIVATIONS`.

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    if name is None:
        return "linear"
    if not isinstance(name, str):
        raise ValueError(f"activation must be a name such as 'relu' or None, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(ACTIVATIONS)} (or 'swish', None), got {name!r}"
        )
    return key


def _sigmoid(z: F32) -> F32:
    # exp(-|z|) never overflows, unlike the textbook 1 / (1 + exp(-z)).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _relu6(z: F32) -> F32:
    return np.clip(z, 0, 6)


def _elu(z: F32) -> F32:
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))


def _exp(z: F32) -> F32:
    # A large pre-activation overflows to inf, as it does in Keras.
    with np.errstate(over="ignore"):
        return np.exp(z)


_FUNCTIONS: dict[str, Callable[[F32], npt.NDArray[np.floating[Any]]]] = {
    "linear": lambda z: z.copy(),
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
    "relu6": _relu6,
    "elu": _elu,
    "selu": lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0))),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda z: _relu6(z + 3) / 6,
    "tanh": np.tanh,
    "softplus": lambda z: np.logaddexp(0, z),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "silu": lambda z: z * _sigmoid(z),
    "exponential": _exp,
}

# At a kink (relu at 0, relu6 at 0 and 6, ...) the derivative of the branch used by
# TensorFlow's gradient is taken: the inactive one.
_DERIVATIVES: dict[str, Callable[[F32], npt.NDArray[np.floating[Any]]]] = {
    "linear": np.ones_like,
    "relu": lambda z: (z > 0).astype(z.dtype),
    "leaky_relu": lambda z: np.where(z > 0, 1, LEAKY_RELU_SLOPE).astype(z.dtype),
    "relu6": lambda z: ((z > 0) & (z < 6)).astype(z.dtype),
    "elu": lambda z: np.where(z > 0, 1, np.exp(np.minimum(z, 0))),
    "selu": lambda z: SELU_SCALE * np.where(z > 0, 1, SELU_ALPHA * np.exp(np.minimum(z, 0))),
    "sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "hard_sigmoid": lambda z: np.where((z > -3) & (z < 3), 1 / 6, 0).astype(z.dtype),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "softplus": _sigmoid,
    "softsign": lambda z: 1 / (1 + np.abs(z)) ** 2,
    "silu": lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z))),
    "exponential": _exp,
}


def activate(name: str | None, z: npt.ArrayLike) -> F32:
    """Apply an activation function elementwise.

    Parameters
    ----------
    name : str or None
        Activation name, see `canonical_activation`.
    z : array_like
        Pre-activation values.

    Returns
    -------
    numpy.ndarray
        A new float32 array of the same shape (never a view of `z`).
    """
    z = np.asarray(z, dtype=np.float32)
    return np.asarray(_FUNCTIONS[canonical_activation(name)](z), dtype=np.float32)


def activate_into(
    name: str | None, z: npt.NDArray[np.floating[Any]], out: npt.NDArray[np.floating[Any]]
) -> None:
    """Write ``activate(name, z)`` into ``out``; relu and linear need no temporary array."""
    key = canonical_activation(name)
    if key == "relu":
        if z.dtype == out.dtype == np.float32:
            # On the bit patterns, relu is an integer max: negative floats are negative
            # int32s, and 0 is +0.0. numpy's integer max is several times faster.
            np.maximum(z.view(np.int32), 0, out=out.view(np.int32))
        else:
            np.maximum(z, 0, out=out)
    elif key == "linear":
        out[...] = z
    else:
        out[...] = activate(key, z)


def activation_derivative(name: str | None, z: npt.ArrayLike) -> F32:
    """Derivative of an activation with respect to its input, at `z`.

    Parameters
    ----------
    name : str or None
        Activation name, see `canonical_activation`.
    z : array_like
        Pre-activation values at which to evaluate d activation / dz.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape as `z`.
    """
    z = np.asarray(z, dtype=np.float32)
    return np.asarray(_DERIVATIVES[canonical_activation(name)](z), dtype=np.float32)
