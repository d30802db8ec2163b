"""The shared colour scale shrinks back after an edit, and every view follows it."""

import numpy as np

from convviz.core.levels import nice_ceil
from tests.qt.helpers import settle
from tests.qt.test_kernel_editor import type_into


def _largest_shown(window):
    """The largest magnitude among the maps the window shows, measured here."""
    doc = window.controller.doc
    f = doc.selected_filter
    parts = [c.data for c in window.filters_panel.cells]
    parts += [window.sum_panel.pre.data, window.sum_panel.feature.data]
    parts += [c.data for c in window.sum_panel.cells[: doc.kernel_channels]]
    assert f == window.controller.frame.selected
    return max(float(np.abs(p).max()) for p in parts)


def test_levels_shrink_after_a_wrong_value_is_corrected(qtbot, window):
    settle(window)
    cell = window.editor.cell(1, 1, 0)
    type_into(qtbot, cell, "-31")
    settle(window)
    big = window.sum_panel.feature.bar_levels
    assert big[1] >= 31 * 0.5  # the input is in [0, 1]: -31 gives maps near -31 * x
    type_into(qtbot, cell, "1")
    settle(window)
    largest = _largest_shown(window)
    levels = window.controller.frame.map_levels
    assert levels[1] < big[1] / 3
    assert levels[1] >= largest
    assert levels[1] <= nice_ceil(largest) * 3  # fits the data within the hysteresis band
    assert window.sum_panel.feature.bar_levels == levels
    # Every view, including filters whose data did not change, is drawn at the new scale.
    for cell in window.filters_panel.cells:
        assert cell.levels == levels, cell.index
    assert window.sum_panel.pre.levels == levels
    for cell in window.sum_panel.cells[: window.controller.doc.kernel_channels]:
        assert cell.levels == levels


def test_levels_hold_during_a_nudge_gesture_and_shrink_after_it(qtbot, window):
    settle(window)
    c = window.controller
    c.set_kernel_value(0, 0, 0, 40.0)
    settle(window)
    big = c.frame.map_levels
    for v in (30.0, 10.0, 0.5):  # a drag walking the value back down
        c.set_kernel_value(0, 0, 0, v, nudge=True)
        settle(window)
        assert c.frame.map_levels == big
    c.end_nudge()
    settle(window)
    assert c.frame.map_levels[1] < big[1] / 3
    for cell in window.filters_panel.cells:
        assert cell.levels == c.frame.map_levels
