"""Texts a class reads: counted nouns agree with their number."""

import numpy as np
import pytest

from convviz.core.explain import layer_shapes
from convviz.core.model import Document, LayerSettings
from convviz.core.training import training_label
from convviz.core.words import count


def test_count_agrees_with_the_number():
    assert [count(n, "kernel") for n in (0, 1, 2)] == ["0 kernels", "1 kernel", "2 kernels"]
    assert count(1, "channel name") == "1 channel name"
    assert count(3, "matrix", "matrices") == "3 matrices"


def test_shapes_of_a_one_kernel_filter_say_one_kernel():
    rows = dict(layer_shapes((28, 28, 1), LayerSettings(filters=1)))
    assert rows["one filter (kh, kw, C_in/groups)"] == "(3, 3, 1)   ← 1 kernel, C_in"
    rows = dict(layer_shapes((8, 8, 3), LayerSettings(filters=3, groups=3)))
    assert "← 1 kernel, C_in/groups = 3/3" in rows["one filter (kh, kw, C_in/groups)"]
    rows = dict(layer_shapes((8, 8, 3), LayerSettings()))
    assert "← 3 kernels, C_in" in rows["one filter (kh, kw, C_in/groups)"]


def test_messages_count_in_the_singular():
    with pytest.raises(ValueError, match="^2 channel names for 1 channel$"):
        Document(
            np.zeros((4, 4, 1)), np.zeros((3, 3, 1, 2)), np.zeros(2), LayerSettings(), ("a", "b")
        )
    assert training_label(0, 1) == "Train filter 1 (1 step)"
    assert training_label(2, 3) == "Train filter 3 (3 steps)"
