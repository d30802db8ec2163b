"""Maps beyond float32: named in words, and left out of the colour scale."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convviz.core.levels import SymmetricLevels, max_abs
from convviz.core.overflow import OverflowWatch, overflow_note


def test_max_abs_is_the_largest_finite_magnitude():
    a = np.array([[1.0, -3.0], [np.inf, np.nan]], np.float32)
    assert max_abs(a) == 3.0
    assert max_abs(np.array([-np.inf, 2.0, -5.0], np.float32)) == 5.0
    assert max_abs(np.array([np.nan, np.inf], np.float32)) == 0.0
    assert max_abs(np.array([3e38, -np.inf], np.float32)) == pytest.approx(3e38)
    assert SymmetricLevels().update(max_abs(a)) == (-3.0, 3.0)


def _maps(h=4, w=5, cg=3, filters=4):
    return (
        np.zeros((h, w, cg), np.float32),
        np.zeros((h, w, filters), np.float32),
        np.zeros((h, w, filters), np.float32),
    )


def test_no_note_when_every_value_is_finite():
    maps, pre, feature = _maps()
    feature[0, 0, 1] = 3e38
    assert overflow_note(maps, pre, feature, 1) is None


def test_the_note_names_each_map_and_says_why():
    maps, pre, feature = _maps()
    maps[1, 2, 1] = np.inf
    pre[0, 0, 2] = np.nan
    feature[0, 0, 2] = np.nan
    feature[3, 4, 0] = -np.inf
    note = overflow_note(maps, pre, feature, 2)
    assert note.startswith(
        "Values exceed float32 in kernel map 2, pre-activation 3 and feature maps 1, 3"
    )
    assert "drawn black" in note and "3.4e38" in note and "kernel values or inputs" in note


def test_an_overflowing_activation_alone_is_named():
    maps, pre, feature = _maps(filters=3)
    feature[:] = np.inf  # exp of a finite pre-activation
    note = overflow_note(maps, pre, feature, 0, "exponential")
    assert "in every feature map (1–3)" in note
    assert "the exponential activation" in note and "another activation" in note


def test_the_pre_activation_of_another_filter_is_not_named_but_counts_as_why():
    maps, pre, feature = _maps()
    pre[0, 0, 3] = feature[0, 0, 3] = np.inf
    note = overflow_note(maps, pre, feature, 0, "relu")
    assert "pre-activation" not in note and "feature map 4" in note
    assert "kernel values × inputs" in note


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["box", "filter", "all"]),
            st.integers(0, 3),  # row
            st.integers(0, 4),  # col
            st.integers(0, 3),  # filter
            st.sampled_from([0.5, -2.0, np.inf, -np.inf, np.nan]),
        ),
        max_size=12,
    )
)
def test_watching_only_what_changed_gives_the_note_of_the_whole(edits):
    maps, pre, feature = _maps()
    watch = OverflowWatch()
    assert watch.update(maps, pre, feature, 1) is None
    for kind, r, c, f, value in edits:
        box = filters = None
        if kind == "box":  # a brush: every map, one pixel
            maps[r, c, :] = pre[r, c, :] = feature[r, c, :] = value
            box = (slice(r, r + 1), slice(c, c + 1))
        elif kind == "filter":  # a weight edit: that filter's maps
            pre[r, c, f] = feature[r, c, f] = value
            if f == 1:
                maps[r, c, 0] = value
            filters = {f}
        else:
            feature[r, c, f] = value
        assert watch.update(maps, pre, feature, 1, "relu", box, filters) == overflow_note(
            maps, pre, feature, 1, "relu"
        )
