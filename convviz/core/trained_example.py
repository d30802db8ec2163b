"""The trained example: a small CNN that learns convviz's own digits, in pure numpy.

Architecture (Keras notation)::

    Conv2D(8, 5, activation="relu")   28×28×1 -> 24×24×8
    MaxPooling2D(2)                             -> 12×12×8
    Conv2D(16, 3, activation="relu")            -> 10×10×16
    MaxPooling2D(2)                             -> 5×5×16
    Flatten, Dense(10, activation="softmax")    -> 10 classes

It is trained on 12 000 digits of :func:`convviz.core.digit_data.digit_set` (seed 1) with
Adam, and tested on 2 000 held-out digits drawn with another seed. Everything is seeded,
so a rerun gives the same network (up to the rounding of the machine's BLAS). Run
``python -m convviz.io.trained_model`` to train it again and rewrite
``resources/models/digits-cnn.npz``, whose first layer is lesson 8.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from convviz.core.digit_data import CLASSES
from convviz.core.resources import resource_dir

TRAIN_COUNT, TRAIN_SEED = 12_000, 1
TEST_COUNT, TEST_SEED = 2_000, 2
EPOCHS, BATCH, LEARNING_RATE = 5, 64, 2e-3
INIT_SEED = 0
LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "dense")

F32 = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
Winners = npt.NDArray[np.intp]  # which pixel of each 2×2 block won the max pooling
# What forward() keeps for the backward pass: z1, cols1, mask1, z2, cols2, mask2, flat.
_Saved = tuple[F32, F32, Winners, F32, F32, Winners, F32]


def model_path() -> Path:
    """The shipped weights of the example network."""
    return resource_dir() / "models" / "digits-cnn.npz"


@dataclass
class Params:
    """Kernels in the Keras layout (kh, kw, C_in, filters); dense (inputs, classes)."""

    k1: F32
    b1: F32
    k2: F32
    b2: F32
    w3: F32
    b3: F32

    @staticmethod
    def glorot(seed: int) -> Params:
        """Keras' default initialisers: Glorot-uniform kernels, zero biases."""
        rng = np.random.default_rng(seed)

        def draw(shape: tuple[int, ...], fan_in: int, fan_out: int) -> F32:
            limit = np.sqrt(6 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, shape).astype(np.float32)

        return Params(
            draw((5, 5, 1, 8), 25, 200),
            np.zeros(8, np.float32),
            draw((3, 3, 8, 16), 72, 144),
            np.zeros(16, np.float32),
            draw((400, CLASSES), 400, CLASSES),
            np.zeros(CLASSES, np.float32),
        )

    def arrays(self) -> list[F32]:
        return [self.k1, self.b1, self.k2, self.b2, self.w3, self.b3]


def _windows(x: F32, k: int) -> F32:
    """(N, H', W', k, k, C) windows of a valid k×k convolution over (N, H, W, C)."""
    return sliding_window_view(x, (k, k), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)


def _conv(x: F32, kernel: F32, bias: F32) -> tuple[F32, F32]:
    k = kernel.shape[0]
    cols = _windows(x, k)
    n, h, w = cols.shape[:3]
    flat = cols.reshape(n * h * w, -1)
    z = flat @ kernel.reshape(-1, kernel.shape[3]) + bias
    return z.reshape(n, h, w, -1), flat


def _pool(a: F32) -> tuple[F32, Winners]:
    """2×2 max pooling of (N, H, W, C), and which of the 4 pixels won (the first of equal
    ones, as frameworks pick, so a flat region passes its gradient on once)."""
    n, h, w, c = a.shape
    blocks = a.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4)
    blocks = blocks.reshape(n, h // 2, w // 2, c, 4)
    winner = blocks.argmax(axis=-1)[..., None]
    return np.take_along_axis(blocks, winner, axis=-1)[..., 0], winner


def forward(params: Params, x: F32) -> tuple[F32, _Saved]:
    """Logits of a batch (N, 28, 28, 1), and what the backward pass needs."""
    z1, cols1 = _conv(x, params.k1, params.b1)
    p1, mask1 = _pool(np.maximum(z1, 0))
    z2, cols2 = _conv(p1, params.k2, params.b2)
    p2, mask2 = _pool(np.maximum(z2, 0))
    flat = p2.reshape(len(x), -1)
    logits = flat @ params.w3 + params.b3
    return logits, (z1, cols1, mask1, z2, cols2, mask2, flat)


def _unpool(d: F32, winner: Winners) -> F32:
    n, h, w, c = d.shape
    full = np.zeros((n, h, w, c, 4), d.dtype)
    np.put_along_axis(full, winner, d[..., None], axis=-1)
    return full.reshape(n, h, w, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, 2 * h, 2 * w, c)


def gradients(params: Params, x: F32, labels: Labels) -> tuple[float, list[F32]]:
    """Mean cross-entropy of a batch and its gradients, in the order of ``arrays()``."""
    logits, (z1, cols1, mask1, z2, cols2, mask2, flat) = forward(params, x)
    n = len(x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = float(-np.log(probs[np.arange(n), labels] + 1e-12).mean())
    d = probs
    d[np.arange(n), labels] -= 1
    d /= n
    g_w3, g_b3 = flat.T @ d, d.sum(axis=0)
    d2 = _unpool((d @ params.w3.T).reshape(n, 5, 5, 16), mask2) * (z2 > 0)
    d2 = d2.reshape(-1, 16)
    g_k2, g_b2 = (cols2.T @ d2).reshape(params.k2.shape), d2.sum(axis=0)
    d_cols = (d2 @ params.k2.reshape(-1, 16).T).reshape(n, 10, 10, 3, 3, 8)
    d_p1 = np.zeros((n, 12, 12, 8), d_cols.dtype)
    for i in range(3):
        for j in range(3):
            d_p1[:, i : i + 10, j : j + 10] += d_cols[:, :, :, i, j]
    d1 = (_unpool(d_p1, mask1) * (z1 > 0)).reshape(-1, 8)
    g_k1, g_b1 = (cols1.T @ d1).reshape(params.k1.shape), d1.sum(axis=0)
    return loss, [g_k1, g_b1, g_k2, g_b2, g_w3, g_b3]


def train(
    images: F32,
    labels: Labels,
    epochs: int = EPOCHS,
    seed: int = INIT_SEED,
    log: Callable[[str], object] | None = None,
) -> Params:
    """Adam on mini-batches of ``BATCH``, shuffled with ``seed`` every epoch."""
    params = Params.glorot(seed)
    arrays = params.arrays()
    m = [np.zeros_like(a) for a in arrays]
    v = [np.zeros_like(a) for a in arrays]
    rng = np.random.default_rng(seed)
    beta1, beta2, eps, step = 0.9, 0.999, 1e-7, 0
    for epoch in range(epochs):
        order = rng.permutation(len(images))
        losses = []
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            loss, grads = gradients(params, images[batch], labels[batch])
            losses.append(loss)
            step += 1
            rate = LEARNING_RATE * np.sqrt(1 - beta2**step) / (1 - beta1**step)
            for a, g, mi, vi in zip(arrays, grads, m, v, strict=True):
                mi += (1 - beta1) * (g - mi)
                vi += (1 - beta2) * (g * g - vi)
                a -= (rate * mi / (np.sqrt(vi) + eps)).astype(np.float32)
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: mean loss {np.mean(losses):.4f}")
    return params


def predict(params: Params, images: F32, batch: int = 500) -> npt.NDArray[np.intp]:
    """The class of each image (N, 28, 28, 1)."""
    out = [
        forward(params, images[i : i + batch])[0].argmax(axis=1)
        for i in range(0, len(images), batch)
    ]
    return np.concatenate(out)
