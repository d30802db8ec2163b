"""The stack's forward pass against a real keras.Sequential (skipped where Keras is not
installed).

Run locally with Keras 3 and torch installed, e.g.::

    KERAS_BACKEND=torch PYTHONPATH=. pytest tests/core/test_stack_keras.py
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from convviz.core.stack import PoolLayer, forward  # noqa: E402
from tests.core.test_stack_code import assert_same_values, random_network  # noqa: E402

N_CASES = 60


def keras_network(x, layers):
    model = keras.Sequential([keras.Input(x.shape)])
    for layer in layers:
        if isinstance(layer, PoolLayer):
            model.add(keras.layers.MaxPooling2D(layer.pool_size, layer.strides, layer.padding))
            continue
        s = layer.settings
        conv = keras.layers.Conv2D(
            s.filters,
            s.kernel_size,
            strides=s.strides,
            padding=s.padding,
            activation=s.activation,
            use_bias=s.use_bias,
        )
        model.add(conv)
        conv.set_weights([layer.kernel, layer.bias] if s.use_bias else [layer.kernel])
    return model


def test_forward_equals_keras_sequential():
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(N_CASES):
        x, layers = random_network(rng)
        try:
            ours = forward(x, layers)
        except ValueError:
            continue  # a layer with nothing left to read: Keras would refuse it too
        model = keras_network(x, layers)
        theirs = keras.ops.convert_to_numpy(model(x[None]))[0]
        assert ours.shape == theirs.shape
        assert_same_values(ours, theirs)
        checked += 1
    assert checked >= N_CASES // 2
