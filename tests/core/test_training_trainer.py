"""The Trainer: optimiser updates, targets, start weights, divergence and convergence."""

from dataclasses import replace

import numpy as np
import pytest

from convviz.core.model import default_document
from convviz.core.training import Trainer, TrainingDiverged, start_weights
from convviz.core.training_loss import (
    FilterSetup,
    filter_gradients,
    teacher_kernels,
    teacher_target,
)
from convviz.io.samples import load_sample

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def state_for(image, **changes):
    st = default_document(image).snapshot()
    st["settings"] = replace(st["settings"], **changes)
    return st


def small_problem(activation="tanh"):
    rng = np.random.default_rng(5)
    st = state_for(rng.uniform(-1, 1, (9, 8, 2)).astype(np.float32), activation=activation)
    setup = FilterSetup.from_state(st)
    target = rng.uniform(-1, 1, (7, 6))
    return setup, rng.uniform(-0.5, 0.5, (3, 3, 2)).astype(np.float32), 0.1, target


def reference_run(optimizer, lr, steps):
    """The optimisers as the Keras documentation writes them, on verified gradients."""
    setup, kernel, bias, target = small_problem()
    theta = np.append(kernel.astype(np.float64).ravel(), bias)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        w = theta[:-1].reshape(kernel.shape).astype(np.float32)
        _, dk, db = filter_gradients(setup, w, float(np.float32(theta[-1])), target)
        g = np.append(dk.ravel(), db)
        if optimizer == "sgd":
            theta = theta - lr * g
        elif optimizer == "momentum":
            m = 0.9 * m - lr * g
            theta = theta + m
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            lr_t = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            theta = theta - lr_t * m / (np.sqrt(v) + 1e-7)
    return theta


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_each_optimiser_follows_its_keras_update_rule(optimizer):
    setup, kernel, bias, target = small_problem()
    trainer = Trainer(setup, kernel, bias, target, optimizer=optimizer, learning_rate=0.05)
    losses = trainer.step(4)
    expected = reference_run(optimizer, 0.05, 4)
    np.testing.assert_allclose(trainer.kernel.ravel(), expected[:-1], rtol=1e-5, atol=1e-6)
    assert trainer.bias == pytest.approx(expected[-1], rel=1e-5, abs=1e-6)
    assert trainer.steps == 4 and trainer.losses == list(losses)
    assert losses[-1] < losses[0]


def test_training_is_deterministic_and_learning_rate_can_change():
    runs = []
    for _ in range(2):
        trainer = Trainer(*small_problem(), optimizer="adam", learning_rate=0.02)
        trainer.step(5)
        trainer.learning_rate = 0.2
        runs.append((trainer.step(5), trainer.kernel, trainer.bias))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2]


def test_teacher_target_is_the_sobel_filter_on_every_channel():
    image = np.random.default_rng(1).random((6, 7, 2)).astype(np.float32)
    st = state_for(image, activation="relu", use_bias=True)
    target, kernels = teacher_target(st, "sobel x", bias=-0.25)
    assert kernels.shape == (3, 3, 2)
    for c in range(2):
        np.testing.assert_array_equal(kernels[:, :, c], SOBEL_X)
    expected = np.zeros((4, 5))
    for r in range(4):
        for s in range(5):
            expected[r, s] = max(
                (image[r : r + 3, s : s + 3] * SOBEL_X[:, :, None]).sum() - 0.25, 0
            )
    np.testing.assert_allclose(target, expected, rtol=1e-5, atol=1e-6)


def test_teacher_takes_one_preset_per_channel():
    kernels = teacher_kernels(["sobel x", "identity", "zeros"], (3, 3, 3))
    np.testing.assert_array_equal(kernels[:, :, 0], SOBEL_X)
    np.testing.assert_array_equal(kernels[:, :, 1], np.eye(1, 9, 4).reshape(3, 3))
    np.testing.assert_array_equal(kernels[:, :, 2], 0)
    with pytest.raises(ValueError, match="one preset per kernel"):
        teacher_kernels(["sobel x"], (3, 3, 2))


def test_start_weights():
    st = state_for(np.ones((5, 5, 3), np.float32))
    st["selected_filter"] = 1
    st["bias"][1] = 0.5
    kernel, bias = start_weights("current", st)
    np.testing.assert_array_equal(kernel, st["kernel"][..., 1])
    assert bias == 0.5
    kernel, bias = start_weights("zeros", st)
    assert kernel.shape == (3, 3, 3) and not kernel.any() and bias == 0
    a, _ = start_weights("glorot", st, seed=3)
    b, _ = start_weights("glorot", st, seed=3)
    c, _ = start_weights("glorot", st, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    limit = np.sqrt(6 / (3 * 3 * 3 + 3 * 3 * 2))  # Keras: fan_in + fan_out of the layer
    assert np.abs(a).max() <= limit and np.abs(a).max() > limit / 2
    with pytest.raises(ValueError, match="start must be"):
        start_weights("ones", st)


def test_a_too_high_learning_rate_stops_with_finite_weights():
    setup, kernel, bias, target = small_problem("linear")
    trainer = Trainer(setup, kernel, bias, target, optimizer="sgd", learning_rate=1e5)
    with pytest.raises(TrainingDiverged, match="Lower the learning rate"):
        trainer.step(200)
    assert np.isfinite(trainer.kernel).all() and np.isfinite(trainer.bias)
    assert 0 < trainer.steps < 200 and len(trainer.losses) == trainer.steps


def test_bad_target_or_kernel_shape_is_refused():
    setup, kernel, bias, target = small_problem()
    with pytest.raises(ValueError, match=r"\(H', W'\) = \(7, 6\)"):
        Trainer(setup, kernel, bias, target[:-1])
    with pytest.raises(ValueError, match="kernel must have shape"):
        Trainer(setup, kernel[..., :1], bias, target)
    with pytest.raises(ValueError, match="NaN"):
        Trainer(setup, kernel, bias, np.full(target.shape, np.nan))


@pytest.mark.parametrize("seed", [0, 1])
def test_adam_recovers_a_hidden_sobel_teacher(seed):
    # Linear activation with valid padding makes the loss a convex quadratic in (w, b)
    # whose Hessian is the Gram matrix of the digit's 3x3 windows (plus a ones column).
    # Those windows span all 10 directions, so the teacher is the only minimum; and the
    # smallest Hessian eigenvalue (~2.4e-3) turns loss < 1e-10 into |w - w*| < 3e-4.
    st = state_for(load_sample("digit").array, activation="linear")
    target, teacher = teacher_target(st, "sobel x")
    kernel, bias = start_weights("glorot", st, seed=seed)
    trainer = Trainer(FilterSetup.from_state(st), kernel, bias, target, learning_rate=0.05)
    while trainer.steps < 3000 and trainer.loss() >= 1e-10:
        trainer.step(50)
    assert trainer.loss() < 1e-6
    np.testing.assert_allclose(trainer.kernel, teacher, atol=1e-3)
    assert abs(trainer.bias) < 1e-3
    assert trainer.steps <= 3000


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_restoring_a_state_forgets_the_steps_since_exactly(optimizer):
    trainer = Trainer(*small_problem(), optimizer=optimizer, learning_rate=0.05)
    trainer.step(2)
    saved = trainer.state()
    kernel, bias, losses = trainer.kernel, trainer.bias, list(trainer.losses)
    trainer.step(3)  # steps a window will not show: dropped
    trainer.restore(saved)
    assert trainer.steps == 2 and trainer.losses == losses
    np.testing.assert_array_equal(trainer.kernel, kernel)
    assert trainer.bias == bias
    # The optimiser's memory went back too: the next steps are those of an unbroken run.
    again = trainer.step(3)
    unbroken = Trainer(*small_problem(), optimizer=optimizer, learning_rate=0.05)
    expected = unbroken.step(5)[2:]
    np.testing.assert_array_equal(again, expected)
    np.testing.assert_array_equal(trainer.kernel, unbroken.kernel)
