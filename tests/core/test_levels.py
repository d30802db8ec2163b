import numpy as np

from convviz.core.levels import SymmetricLevels, input_levels, nice_ceil


def test_nice_ceil():
    assert nice_ceil(0.7) == 0.8
    assert nice_ceil(1.01) == 1.5
    assert nice_ceil(2.2) == 2.5
    assert nice_ceil(3) == 3.0
    assert nice_ceil(6.5) == 8.0
    assert nice_ceil(0.013) == 0.015
    assert nice_ceil(0) == 1.0


def test_levels_are_symmetric_and_stable_under_small_changes():
    lv = SymmetricLevels()
    assert lv.update(3.3) == (-4.0, 4.0)
    # Painting nudges the maximum around: the colours must not rescale.
    for m in (3.0, 3.9, 2.0, 1.4):
        assert lv.update(m) == (-4.0, 4.0)
    assert lv.update(4.5) == (-5.0, 5.0)  # grows when the data leaves the scale
    assert lv.update(0.5) == (-0.5, 0.5)  # shrinks when the data is far smaller


def test_input_levels():
    assert input_levels(np.array([0.0, 0.5, 1.0])) == (0.0, 1.0)
    assert input_levels(np.array([0.0, 3.3])) == (0.0, 4.0)
    assert input_levels(np.array([-2.0, 1.0])) == (-2.0, 1.0)
