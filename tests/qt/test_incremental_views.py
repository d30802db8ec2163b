"""A kernel value or bias edit redraws only the maps it changed, and they are right."""

import numpy as np
from PySide6.QtCore import Qt

from convviz import conv2d
from tests.qt.helpers import scene_image, settle, shown


def count_set_image(cells):
    """Wrap each cell's set_image; return the per-cell call counts (a dict by id)."""
    counts = {}
    for cell in cells:
        key = id(cell)
        counts[key] = 0
        real = cell.set_image

        def spy(*args, _real=real, _key=key, **kwargs):
            counts[_key] += 1
            return _real(*args, **kwargs)

        cell.set_image = spy
    return counts


def fresh(doc):
    s, f = doc.settings, doc.selected_filter
    bias = doc.bias if s.use_bias else None
    return conv2d(doc.input, doc.kernel, bias, kernel_map_filters=[f], **s.conv_kwargs())


def type_into(qtbot, cell, text):
    cell.setFocus()
    cell.selectAll()
    qtbot.keyClicks(cell, text)
    qtbot.keyClick(cell, Qt.Key.Key_Return)


def test_kernel_cell_edit_redraws_only_its_kernel_map_and_filter(make_window, qtbot):
    window = make_window(scene_image(h=24, w=26, c=3, seed=2))
    settle(window)
    ctl, doc = window.controller, window.controller.doc
    f = doc.selected_filter
    full_before = ctl.pipeline.full_recomputes
    kernel_cells = window.sum_panel.cells[: doc.kernel_channels]
    filter_cells = window.filters_panel.cells
    k_counts = count_set_image(kernel_cells)
    f_counts = count_set_image(filter_cells)
    p_counts = count_set_image([window.sum_panel.pre, window.sum_panel.feature])

    old = float(doc.kernel[1, 2, 1, f])
    type_into(qtbot, window.editor.cell(1, 2, 1), f"{old + 0.01:.4f}")
    settle(window)
    assert doc.kernel[1, 2, 1, f] == np.float32(f"{old + 0.01:.4f}")

    res = fresh(doc)
    frame = ctl.frame
    np.testing.assert_allclose(frame.pre_activation, res.pre_activation, atol=1e-5)
    np.testing.assert_allclose(frame.feature_maps, res.feature_maps, atol=1e-5)
    np.testing.assert_allclose(frame.kernel_maps, res.kernel_maps_of(f), atol=1e-5)
    assert ctl.pipeline.full_recomputes == full_before
    # Kernel map 2 (channel index 1), the sum, the feature map and thumbnail f redrawn...
    assert [k_counts[id(c)] for c in kernel_cells] == [0, 1, 0]
    assert all(n == 1 for n in p_counts.values())
    assert [f_counts[id(c)] for c in filter_cells] == [int(c.index == f) for c in filter_cells]
    # ...and they show the edited values.
    np.testing.assert_allclose(shown(kernel_cells[1]), res.kernel_maps_of(f)[..., 1], atol=1e-5)
    np.testing.assert_allclose(shown(filter_cells[f]), res.feature_maps[..., f], atol=1e-5)

    # A bias edit redraws no kernel map at all.
    type_into(qtbot, window.editor.bias_cell(), f"{float(doc.bias[f]) + 0.01:.4f}")
    settle(window)
    assert [k_counts[id(c)] for c in kernel_cells] == [0, 1, 0]
    res = fresh(doc)
    np.testing.assert_allclose(ctl.frame.pre_activation, res.pre_activation, atol=1e-5)
    np.testing.assert_allclose(shown(window.sum_panel.feature), res.feature_maps[..., f], atol=1e-5)
    assert ctl.pipeline.full_recomputes == full_before

    # Once edits pause, the edited filter is recomputed in full.
    assert ctl.resync_now() is not None
    np.testing.assert_allclose(ctl.frame.pre_activation, res.pre_activation, atol=1e-6)
    assert ctl.resync_now() is None
