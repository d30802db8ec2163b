"""Code for a network: keras.Sequential and torch.nn.Sequential snippets that compute
what the stack computes (run where Keras or PyTorch is installed)."""

import os

import numpy as np
import pytest

from convviz.core.activations import ACTIVATIONS
from convviz.core.model import LayerSettings
from convviz.core.sequential_code import keras_sequential_code, pytorch_sequential_code
from convviz.core.stack import ConvLayer, PoolLayer, forward


def random_network(rng):
    """An input and 2 to 4 layers (a Conv2D first), Keras' own kinds of settings."""
    channels = int(rng.integers(1, 4))
    side = int(rng.integers(14, 30))
    x = rng.standard_normal((side, side + int(rng.integers(0, 5)), channels)).astype(np.float32)
    layers, c = [], channels
    for n in range(int(rng.integers(2, 5))):
        if n and rng.random() < 0.35:
            pool = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            strides = (
                None if rng.random() < 0.5 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
            )
            layers.append(PoolLayer(pool, strides, str(rng.choice(["valid", "same"]))))
            continue
        filters, k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        s = LayerSettings(
            kernel_size=(k, k),
            filters=filters,
            strides=(int(rng.integers(1, 3)),) * 2 if rng.random() < 0.3 else (1, 1),
            padding=str(rng.choice(["valid", "same"])),
            activation=str(rng.choice(ACTIVATIONS)),
            use_bias=bool(rng.random() < 0.8),
        )
        kernel = rng.standard_normal((k, k, c, filters)).astype(np.float32) * 0.5
        layers.append(ConvLayer(kernel, rng.standard_normal(filters).astype(np.float32), s))
        c = filters
    return x, tuple(layers)


def assert_same_values(got, want):
    """Equal to float32 precision; an overflow (inf, as exponential makes) where the other
    overflows too."""
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    scale = max(float(np.abs(want[finite]).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-4, atol=1e-5 * scale)


def conv(rng, c, filters, k=3, **settings):
    s = LayerSettings(kernel_size=(k, k), filters=filters, **settings)
    kernel = rng.standard_normal((k, k, c // s.groups, filters)).astype(np.float32)
    return ConvLayer(kernel, rng.standard_normal(filters).astype(np.float32), s)


def every_kind_of_network(rng):
    """Padding a Sequential must spell out, pooling with 'same', groups, no bias, flip."""
    yield (
        rng.standard_normal((15, 13, 3)).astype(np.float32),
        (
            conv(rng, 3, 4, padding="full", activation="tanh"),
            PoolLayer((3, 2), (2, 2), "same"),
            conv(rng, 4, 2, k=2, groups=2, padding="same", use_bias=False, flip_kernel=True),
            conv(rng, 2, 3, padding=(1, 0, 2, 1), activation="exponential", dilation=(2, 1)),
        ),
    )
    for _ in range(25):
        yield random_network(rng)


def test_the_snippets_hold_every_layer_and_compile():
    x, layers = next(every_kind_of_network(np.random.default_rng(0)))
    for make in (keras_sequential_code, pytorch_sequential_code):
        code = make(x.shape, layers)
        compile(code, make.__name__, "exec")
        for n in (1, 2, 3, 4):
            assert f"# layer {n}" in code
        assert "kernel3 = np.array(" in code and "bias3" not in code  # no bias
    # 15x13 -> full 3x3: 17x15 -> pool 3x2 /2 same: 9x8 -> same: 9x8 -> padded 10x11,
    # dilated 5x3: 6x9, 3 filters.
    assert "(H', W', C) = (6, 9, 3)" in code


def test_what_keras_cannot_pad_is_refused():
    rng = np.random.default_rng(1)
    layers = (conv(rng, 1, 2), conv(rng, 2, 2, padding="same", padding_mode="reflect"))
    with pytest.raises(ValueError, match="layer 2 pads with reflect"):
        keras_sequential_code((9, 9, 1), layers)
    assert "ReflectionPad2d" in pytorch_sequential_code((9, 9, 1), layers)


def _cases():
    return every_kind_of_network(np.random.default_rng(2))


def assert_snippets_compute_the_stack(make, run):
    """Every case's snippet from ``make``, executed, gives what the stack gives when its
    ``model`` is called by ``run(model, x)``."""
    for x, layers in _cases():
        try:
            want = forward(x, layers)
            code = make(x.shape, layers)
        except ValueError:
            continue
        ns: dict = {}
        exec(code, ns)
        assert_same_values(run(ns["model"], x), want)


def test_the_keras_snippet_computes_the_stack():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    assert_snippets_compute_the_stack(
        keras_sequential_code, lambda model, x: keras.ops.convert_to_numpy(model(x[None]))[0]
    )


def test_the_pytorch_snippet_computes_the_stack():
    torch = pytest.importorskip("torch")

    def run(model, x):
        with torch.no_grad():
            y = model(torch.from_numpy(x).permute(2, 0, 1)[None])
        return y[0].permute(1, 2, 0).numpy()

    assert_snippets_compute_the_stack(pytorch_sequential_code, run)
