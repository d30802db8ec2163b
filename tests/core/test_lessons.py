"""The shipped lessons: each opens, equals what the generator makes, and says true numbers."""

import math
import re

import numpy as np
import pytest

from convviz import conv2d
from convviz.core.lessons import LESSONS, build_lesson, lesson_path
from convviz.core.model import Document
from convviz.io.lesson_files import shipped_lesson, write_lessons
from convviz.io.samples import load_sample
from convviz.io.session import load_session


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_shipped_lesson_equals_the_generator(lesson):
    loaded = load_session(lesson_path(lesson))
    expected = shipped_lesson(lesson)
    for key in ("input", "kernel", "bias"):
        np.testing.assert_array_equal(loaded.state[key], expected[key])
    for key in ("settings", "channel_names", "selected_filter"):
        assert loaded.state[key] == expected[key]
    assert loaded.lesson == lesson.markdown


def test_generator_writes_identical_files(tmp_path):
    for path in write_lessons(tmp_path):
        assert path.read_bytes() == (lesson_path_by_name(path.name)).read_bytes()


def lesson_path_by_name(name):
    return next(lesson_path(lesson) for lesson in LESSONS if f"{lesson.key}.convviz" == name)


def expected_output_side(n, k, stride, dilation, padding):
    # Written from the textbook formulas, independently of conv_geometry.
    span = (k - 1) * dilation + 1
    if padding == "same":
        return math.ceil(n / stride)
    return (n - span) // stride + 1


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_lesson_computes_and_its_text_states_true_shapes(lesson):
    # The shapes a lesson quotes are those of the layer it opens on.
    state = Document.from_network(load_session(lesson_path(lesson)).state).snapshot()
    s = state["settings"]
    res = conv2d(state["input"], state["kernel"], state["bias"], **s.conv_kwargs())
    h, w, c = state["input"].shape
    out = tuple(
        expected_output_side(n, k, st, d, s.padding)
        for n, k, st, d in zip((h, w), s.kernel_size, s.strides, s.dilation, strict=True)
    )
    assert res.feature_maps.shape == (*out, s.filters)
    kernel_shape = state["kernel"].shape
    assert kernel_shape == (*s.kernel_size, c // s.groups, s.filters)
    # Every shape a lesson quotes as (H', W', filters) or a kernel tensor must be the real one.
    for quoted in re.findall(r"\(H', W', filters\) = \(([\d, ]+)\)", lesson.text):
        assert tuple(int(v) for v in quoted.split(",")) == (*out, s.filters)
    for quoted in re.findall(
        r"kernel tensor is (?:\(kh, kw, C_in, filters\) = )?\(([\d, ]+)\)", lesson.text
    ):
        assert tuple(int(v) for v in quoted.split(",")) == kernel_shape
    params = int(np.prod(kernel_shape)) + s.filters * s.use_bias
    assert res.param_count == params
    if "parameters" in lesson.text:
        assert f"= {params} " in lesson.text
    assert 3 <= len(re.findall(r"[.!?](?:\s|$)", lesson.text)) <= 7


def test_lessons_mention_kernel_filter_and_feature_map():
    for lesson in LESSONS:
        text = lesson.text.lower()
        assert "kernel" in text and "filter" in text and "feature map" in text, lesson.key


SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)


def slow_valid_correlation(x, k):
    h, w = x.shape
    kh, kw = k.shape
    out = np.zeros((h - kh + 1, w - kw + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = sum(x[r + i, c + j] * k[i, j] for i in range(kh) for j in range(kw))
    return out


def test_learning_lesson_starts_random_and_its_training_finds_sobel_x():
    from convviz.core.training import Trainer, start_weights
    from convviz.core.training_loss import FilterSetup

    lesson = next(lesson for lesson in LESSONS if lesson.key == "07-learn-a-kernel")
    state = load_session(lesson_path(lesson)).state
    kernel = state["kernel"][:, :, 0, 0]
    limit = math.sqrt(6 / (9 + 9))  # Glorot: fan_in = fan_out = 3·3·1
    assert np.all(np.abs(kernel) <= limit) and np.ptp(kernel) > limit / 2
    # The dock's "random (Glorot uniform)" start with the lesson's seed draws the same kernel.
    start, _ = start_weights("glorot", state, seed=lesson.seed)
    np.testing.assert_array_equal(start[:, :, 0], kernel)
    # What the text promises: from this kernel, Adam at the dock's default rate learns Sobel x.
    target = slow_valid_correlation(state["input"][:, :, 0].astype(np.float64), SOBEL_X)
    trainer = Trainer(
        FilterSetup.from_state(state), state["kernel"][..., 0], 0.0, target, learning_rate=0.05
    )
    losses = trainer.step(600)
    assert losses[-1] < losses[0] * 1e-4
    np.testing.assert_allclose(trainer.kernel[:, :, 0], SOBEL_X, atol=0.01)
    assert abs(trainer.bias) < 0.01


def test_a_lesson_of_trained_kernels_needs_its_layer_which_core_does_not_read():
    trained = next(lesson for lesson in LESSONS if lesson.weights is not None)
    with pytest.raises(ValueError, match=trained.weights):
        build_lesson(trained, load_sample(trained.sample).array)
