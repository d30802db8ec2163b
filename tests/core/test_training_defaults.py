"""The "Learn a kernel" defaults learn: on the start scene and on every lesson."""

import numpy as np
import pytest

from convviz.core.lessons import LESSONS, lesson_path
from convviz.core.model import default_document
from convviz.core.training import (
    DEFAULT_LEARNING_RATE,
    DEFAULT_OPTIMIZER,
    DEFAULT_SEED,
    DEFAULT_START,
    Trainer,
    stalled_message,
    start_weights,
)
from convviz.core.training_loss import FilterSetup, filter_gradients, teacher_target
from convviz.io.samples import load_sample
from convviz.io.session import load_session

START_SAMPLE = "colour"  # what convviz opens with no arguments


def start_scene():
    sample = load_sample(START_SAMPLE)
    return default_document(sample.array, sample.channel_names).snapshot()


SCENES = {"start scene": start_scene, **{
    lesson.key: (lambda lesson=lesson: load_session(lesson_path(lesson)).state)
    for lesson in LESSONS
}}  # fmt: skip


def test_the_start_scene_is_the_app_default():
    from convviz.qt.app import DEFAULT_SAMPLE

    assert DEFAULT_SAMPLE == START_SAMPLE


@pytest.mark.parametrize("scene", list(SCENES))
def test_default_training_of_the_sobel_x_teacher_converges(scene):
    state = SCENES[scene]()
    target, _ = teacher_target(state, "sobel x")
    kernel, bias = start_weights(DEFAULT_START, state, DEFAULT_SEED)
    setup = FilterSetup.from_state(state)
    trainer = Trainer(
        setup,
        kernel,
        bias,
        target,
        optimizer=DEFAULT_OPTIMIZER,
        learning_rate=DEFAULT_LEARNING_RATE,
    )
    first = trainer.loss()
    assert first > 1e-3  # the start is not already the teacher
    trainer.step(1000)
    assert not trainer.dead and trainer.steps == 1000
    last = trainer.loss()
    assert last < first / 100, (first, last)
    # The loss is measured independently: the feature map against the target.
    a = setup.feature_map(trainer.kernel, trainer.bias)
    assert np.mean((a.astype(np.float64) - target) ** 2) == pytest.approx(last, rel=1e-4)


def test_relu_from_zeros_has_a_zero_gradient_and_the_trainer_says_so():
    state = start_scene()
    assert state["settings"].activation == "relu"
    target, _ = teacher_target(state, "sobel x")
    kernel, bias = start_weights("zeros", state)
    setup = FilterSetup.from_state(state)
    loss, d_kernel, d_bias = filter_gradients(setup, kernel, bias, target)
    assert loss > 0.1 and not d_kernel.any() and d_bias == 0
    trainer = Trainer(setup, kernel, bias, target)
    assert len(trainer.step(5)) == 0
    assert trainer.dead and trainer.steps == 0
    np.testing.assert_array_equal(trainer.kernel, kernel)
    message = stalled_message("relu")
    assert "dead ReLU" in message and "leaky_relu" in message and "random" in message
