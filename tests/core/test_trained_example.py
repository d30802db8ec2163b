"""The shipped example network: its training computes true gradients, is seeded, and the
weights it shipped classify held-out digits as the README says."""

import subprocess
import sys

import numpy as np
import pytest

from convviz import conv2d, load_weights
from convviz.core import trained_example as te
from convviz.core.digit_data import CLASSES, SIDE, digit_set, draw_digit
from convviz.io.samples import load_sample


def test_digit_set_is_seeded_and_cycles_through_the_classes():
    images, labels = digit_set(20, seed=5)
    again, _ = digit_set(20, seed=5)
    assert images.shape == (20, SIDE, SIDE, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images, again)
    assert list(labels) == [i % CLASSES for i in range(20)]
    assert images.min() >= 0 and images.max() <= 1
    # Every drawing differs, even of the same digit.
    assert not np.array_equal(images[0], images[10])
    assert not np.array_equal(digit_set(20, seed=6)[0], images)
    assert (draw_digit(1, np.random.default_rng(0)) > 0.5).sum() > 20


def float64_params(seed=0):
    params = te.Params.glorot(seed)
    # Non-zero biases, so that the bias gradients are tested where they matter.
    return te.Params(*[a.astype(np.float64) + 0.05 * (a.ndim == 1) for a in params.arrays()])


def test_gradients_match_finite_differences():
    images, labels = digit_set(6, seed=3)
    images = images.astype(np.float64)
    params = float64_params()
    _, grads = te.gradients(params, images, labels)
    rng = np.random.default_rng(0)
    for array, grad in zip(params.arrays(), grads, strict=True):
        for _ in range(4):
            index = tuple(int(rng.integers(0, s)) for s in array.shape)
            old = array[index]
            array[index] = old + 1e-6
            up, _ = te.gradients(params, images, labels)
            array[index] = old - 1e-6
            down, _ = te.gradients(params, images, labels)
            array[index] = old
            assert grad[index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8)


@pytest.mark.slow
def test_training_is_seeded_and_learns():
    images, labels = digit_set(300, seed=4)
    first = te.train(images, labels, epochs=5, seed=3)
    second = te.train(images, labels, epochs=5, seed=3)
    for a, b in zip(first.arrays(), second.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    start, _ = te.gradients(te.Params.glorot(3), images, labels)
    trained, _ = te.gradients(first, images, labels)
    assert trained < 0.7 * start


def network_outputs(path, images):
    """The shipped network's logits, computed by convviz's conv2d and plain numpy, not by
    the training code."""
    weights = load_weights(path)
    kinds = [type(layer).__name__ for layer in weights.layers]
    assert kinds == ["ConvLayer", "PoolLayer", "ConvLayer", "PoolLayer"]
    x = images
    for layer in weights.layers:
        if type(layer).__name__ == "ConvLayer":
            x = conv2d(x, layer.kernel, layer.bias, activation=layer.activation).feature_maps
        else:
            n, h, w, c = x.shape
            x = x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    with np.load(path, allow_pickle=False) as f:
        dense, bias, accuracy = (
            f["extra.dense.kernel"],
            f["extra.dense.bias"],
            f["extra.test_accuracy"],
        )
    return x.reshape(len(images), -1) @ dense + bias, float(accuracy)


def test_shipped_network_classifies_held_out_digits():
    # The first 500 of the README's 2000 held-out digits (the same seed draws them first).
    images, labels = digit_set(500, te.TEST_SEED)
    logits, stated = network_outputs(te.model_path(), images)
    accuracy = (logits.argmax(axis=1) == labels).mean()
    assert accuracy >= 0.99 and stated >= 0.99
    # It reads the shipped digit sample, a 3 it never saw, as a 3.
    sample_logits, _ = network_outputs(te.model_path(), load_sample("digit").array[None])
    assert sample_logits.argmax() == 3


def test_training_forward_is_the_layer_convviz_shows():
    params = te.Params.glorot(1)
    params.b1[:] = 0.1
    images, _ = digit_set(4, seed=9)
    logits, _ = te.forward(params, images)
    z1 = conv2d(images, params.k1, params.b1, activation="relu").feature_maps
    p1 = z1.reshape(4, 12, 2, 12, 2, 8).max(axis=(2, 4))
    z2 = conv2d(p1, params.k2, params.b2, activation="relu").feature_maps
    p2 = z2.reshape(4, 5, 2, 5, 2, 16).max(axis=(2, 4))
    np.testing.assert_allclose(logits, p2.reshape(4, -1) @ params.w3 + params.b3, atol=1e-5)


BLOCK_EXTRAS = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('h5py', 'safetensors', 'torch'):
            raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
from convviz import load_weights
from convviz.core.trained_example import model_path
print(len(load_weights(model_path())))
"""


def test_the_example_opens_without_the_optional_readers():
    out = subprocess.run([sys.executable, "-c", BLOCK_EXTRAS], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"
