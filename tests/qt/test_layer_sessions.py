"""A network of layers in sessions, crash recovery and the two-layer lesson, through the
window."""

import numpy as np

from convviz.core.lessons import LESSONS
from convviz.io.session import load_session
from tests.qt.helpers import assert_views_match_model, settle, shown
from tests.qt.test_recovery import crash, install


def build_network(window):
    """Layer 2 (pooling) and layer 3 (Conv2D) added, layer 3 edited and shown."""
    ctl = window.controller
    ctl.add_layer("pool")
    ctl.add_layer("conv")
    ctl.set_kernel_value(1, 1, 1, 3.25)
    ctl.select_filter(2)
    settle(window)
    return ctl.network_state()


def assert_same_network(doc, state):
    got = doc.network_state()
    assert got["shown"] == state["shown"] and got["layers"] == state["layers"]
    for key in ("input", "kernel", "bias"):
        np.testing.assert_array_equal(got[key], state[key])
    assert got["settings"] == state["settings"]


def test_a_saved_network_opens_on_the_layer_it_showed(window, manager, tmp_path):
    saved = build_network(window)
    assert manager.save_as(tmp_path / "net")
    window.controller.new_blank(8, 8, 1)  # layer 1 shown, a new input
    settle(window)
    assert window.controller.doc.shown == 0
    assert manager.open_session(tmp_path / "net.convviz")
    settle(window)
    doc = window.controller.doc
    assert doc.shown == 2
    assert_same_network(doc, saved)
    assert window.layer_bar.tabs.currentIndex() == 2
    assert doc.kernel[1, 1, 1, 0] == np.float32(3.25) and doc.selected_filter == 2
    assert_views_match_model(window)


def test_a_network_is_recovered_after_a_crash(make_window, tmp_path):
    first = make_window()
    m = install(first, tmp_path)
    saved = build_network(first)
    m.autosave_now()
    crash(m)
    assert load_session(m.recovery_path).state["shown"] == 2
    second = make_window()
    install(second, tmp_path, restore_answer=True)
    settle(second)
    assert_same_network(second.controller.doc, saved)
    assert second.layer_bar.isVisible()


def test_the_two_layer_lesson_opens_on_layer_two(window, manager):
    index = [lesson.key for lesson in LESSONS].index("09-two-layers")
    manager.open_lesson(index)
    settle(window)
    doc = window.controller.doc
    assert doc.shown == 1 and doc.kernel.shape == (3, 3, 2, 2)
    assert window.layer_bar.isVisible() and window.layer_bar.tabs.currentIndex() == 1
    cells = [c for c in window.input_panel.cells if c.index >= 0]
    assert "map 1 of layer 1" in cells[0].title.text
    assert "= channel 1 of layer 2" in cells[0].title.text
    res = assert_views_match_model(window)
    # Filter 1 adds layer 1's two maps (identity kernels); filter 2 keeps map 1 alone.
    x = doc.input
    np.testing.assert_allclose(
        res.feature_maps[..., 0], np.maximum(x[1:-1, 1:-1, 0] + x[1:-1, 1:-1, 1], 0), atol=1e-5
    )
    np.testing.assert_allclose(res.feature_maps[..., 1], x[1:-1, 1:-1, 0], atol=1e-6)
    np.testing.assert_allclose(shown(window.filters_panel.cells[1]), x[1:-1, 1:-1, 0], atol=1e-6)
    # The lesson's own suggestion: three filters in layer 1 give layer 2 three kernels.
    window.layer_bar.tabs.setCurrentIndex(0)
    settle(window)
    window.layer_panel.filters.setValue(3)
    settle(window)
    window.layer_bar.tabs.setCurrentIndex(1)
    settle(window)
    assert doc.shown == 1 and doc.kernel.shape == (3, 3, 3, 2)
    assert_views_match_model(window)
