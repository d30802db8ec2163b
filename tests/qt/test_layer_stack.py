"""A stack of layers through the window: the Layer menu, the layer bar, a deeper layer's
input made of the layer before's feature maps, edits and undo across layers."""

import numpy as np
from PySide6.QtCore import Qt

from convviz.core.conv import conv2d
from tests.core.test_stack import slow_max_pool
from tests.qt.helpers import (
    PATIENCE_MS,
    assert_views_match_model,
    drag,
    image_to_viewport,
    scene_image,
    settle,
    shown,
)
from tests.qt.test_incremental_views import type_into


def layer_one_output(x, kernel, bias):
    """Keras' Conv2D(2, 3, activation='relu') of the first screen, computed apart."""
    return conv2d(x, kernel, bias, activation="relu").feature_maps


def test_adding_a_conv_layer_shows_its_insides_reading_layer_one_maps(window):
    doc = window.controller.doc
    x, k1, b1 = doc.input.copy(), doc.kernel.copy(), doc.bias.copy()
    assert window.layer_bar.isHidden()  # one layer: no bar
    window.layer_actions["add_conv"].trigger()
    settle(window)
    assert doc.shown == 1 and len(doc.network_layers()) == 2
    assert window.layer_bar.isVisible()
    tabs = window.layer_bar.tabs
    assert tabs.count() == 2 and tabs.currentIndex() == 1
    assert tabs.tabText(0).startswith("1  Conv2D(2, 3×3) → 10×12×2")
    assert tabs.tabText(1).startswith("2  Conv2D(4, 3×3) → 8×10×4")
    # Layer 2 reads layer 1's two feature maps: each of its filters has two kernels.
    maps = layer_one_output(x, k1, b1)
    cells = [c for c in window.input_panel.cells if c.index >= 0]
    assert len(cells) == 2  # no colour composite for feature maps
    for cell in cells:
        np.testing.assert_allclose(shown(cell), maps[:, :, cell.index], rtol=1e-6, atol=1e-6)
    assert doc.kernel.shape == (3, 3, 2, 4)
    assert window.editor.cell(0, 0, 1) is not None
    assert "Layer 2's input" in window.input_title.text()
    assert "= channel 2 of layer 2" in cells[1].title.text
    assert window.brush.isEnabled() and window.network_box.isVisible()  # paints the network's input
    assert_views_match_model(window)
    assert window.undo_action.text() == "Undo Add layer 2: Conv2D(4, 3×3)"


def test_painting_stays_on_the_network_input_and_reaches_layer_two(window):
    ctl, doc = window.controller, window.controller.doc
    ctl.add_layer("conv")
    settle(window)
    k1, b1 = doc.before[0].kernel, doc.before[0].bias
    before = doc.input.copy()
    # Layer 2's own input (layer 1's feature maps) takes no paint.
    view, a = image_to_viewport(window.input_panel.cells[0], 4.5, 2.5)
    _, b = image_to_viewport(window.input_panel.cells[0], 4.5, 8.5)
    drag(view, [a, b])
    settle(window)
    np.testing.assert_array_equal(doc.input, before)
    assert "network's input above" in window.statusBar().currentMessage()
    assert window.undo_action.text() == "Undo Add layer 2: Conv2D(4, 3×3)"
    # The network's input, above it, does; layer 2 reads the painted input at once.
    assert window.network_box.isVisible()
    network = [c for c in window.network_panel.cells if c.index >= 0]
    np.testing.assert_array_equal(shown(network[1]), doc.network_input[:, :, 1])
    window.brush.value.setValue(0.0)
    recomputes = ctl.pipeline.full_recomputes
    view, a = image_to_viewport(network[0], 4.5, 2.5)
    _, b = image_to_viewport(network[0], 4.5, 8.5)
    drag(view, [a, b])
    x = doc.network_input
    assert (x[4, 3:9, 0] == 0).all() and doc.shown == 1
    settle(window)
    np.testing.assert_allclose(doc.input, layer_one_output(x, k1, b1), rtol=1e-6, atol=1e-6)
    assert ctl.pipeline.full_recomputes == recomputes  # layer 2 updated box by box
    np.testing.assert_array_equal(shown(network[0]), x[:, :, 0])
    assert_views_match_model(window)
    assert window.undo_action.text() == "Undo Erase on R of the network's input"
    painted = x.copy()
    window.undo_action.trigger()
    settle(window)
    assert doc.shown == 1 and not (doc.network_input[4, 3:9, 0] == 0).all()
    np.testing.assert_array_equal(shown(network[0]), doc.network_input[:, :, 0])
    np.testing.assert_allclose(doc.input, before, rtol=1e-6, atol=1e-6)
    assert_views_match_model(window)
    window.redo_action.trigger()
    settle(window)
    np.testing.assert_array_equal(doc.network_input, painted)
    # Layer 1 paints the same input, now its own.
    window.layer_bar.tabs.setCurrentIndex(0)
    settle(window)
    assert doc.shown == 0 and window.network_box.isHidden()
    np.testing.assert_array_equal(doc.input, painted)


def test_painting_the_network_input_before_heavy_layers_updates_when_the_stroke_ends(window, qtbot):
    ctl, doc = window.controller, window.controller.doc
    ctl.add_layer("conv")
    settle(window)
    ctl.live_network_work = 0  # stands for layers before of 1024x1024x16
    before = doc.input.copy()
    network = [c for c in window.network_panel.cells if c.index >= 0]
    window.brush.value.setValue(0.0)
    view, a = image_to_viewport(network[2], 6.5, 1.5)
    _, b = image_to_viewport(network[2], 6.5, 12.5)
    vp = view.viewport()
    from PySide6 import QtCore, QtGui, QtWidgets

    def send(kind, pt, button, buttons):
        pos = QtCore.QPointF(pt)
        ev = QtGui.QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.NoModifier)
        QtWidgets.QApplication.sendEvent(vp, ev)

    left = Qt.MouseButton.LeftButton
    send(QtCore.QEvent.Type.MouseButtonPress, a, left, left)
    send(QtCore.QEvent.Type.MouseMove, b, Qt.MouseButton.NoButton, left)
    QtWidgets.QApplication.processEvents()
    assert (doc.network_input[6, 2:12, 2] == 0).all()
    np.testing.assert_array_equal(shown(network[2]), doc.network_input[:, :, 2])  # drawn
    np.testing.assert_array_equal(doc.input, before)  # layer 2's input: once it ends
    send(QtCore.QEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: not np.array_equal(doc.input, before), timeout=PATIENCE_MS)
    k1, b1 = doc.before[0].kernel, doc.before[0].bias
    np.testing.assert_allclose(
        doc.input, layer_one_output(doc.network_input, k1, b1), rtol=1e-6, atol=1e-6
    )
    qtbot.waitUntil(lambda: not ctl.computing, timeout=PATIENCE_MS)
    assert_views_match_model(window)


def test_undo_goes_back_to_the_layer_each_step_was_made_on(window, qtbot):
    ctl, doc = window.controller, window.controller.doc
    ctl.add_layer("conv")
    settle(window)
    old = float(doc.kernel[1, 2, 1, 0])
    type_into(qtbot, window.editor.cell(1, 2, 1), "2.5")
    settle(window)
    assert doc.kernel[1, 2, 1, 0] == np.float32(2.5)
    assert_views_match_model(window)
    window.layer_actions["previous"].trigger()
    settle(window)
    assert doc.shown == 0
    window.undo_action.trigger()  # the value typed on layer 2
    settle(window)
    assert doc.shown == 1 and doc.kernel[1, 2, 1, 0] == np.float32(old)
    assert_views_match_model(window)
    window.redo_action.trigger()
    assert doc.kernel[1, 2, 1, 0] == np.float32(2.5)
    window.undo_action.trigger()
    window.undo_action.trigger()  # adding layer 2
    settle(window)
    assert doc.shown == 0 and len(doc.network_layers()) == 1
    assert window.layer_bar.isHidden()
    assert_views_match_model(window)


def test_more_filters_in_layer_one_give_layer_two_deeper_kernels_and_undo_restores(window):
    ctl, doc = window.controller, window.controller.doc
    ctl.add_layer("conv")
    settle(window)
    second = doc.kernel.copy()
    ctl.show_layer(0)
    window.layer_panel.filters.setValue(3)
    settle(window)
    assert doc.settings.filters == 3
    after = doc.after[0]
    assert after.kernel.shape == (3, 3, 3, 4)
    np.testing.assert_array_equal(after.kernel[:, :, :2], second)  # what fits is kept
    window.undo_action.trigger()
    settle(window)
    assert doc.settings.filters == 2
    np.testing.assert_array_equal(doc.after[0].kernel, second)
    ctl.show_layer(1)
    settle(window)
    np.testing.assert_array_equal(doc.kernel, second)
    assert_views_match_model(window)


def test_a_pooling_layer_between_two_conv_layers(make_window):
    window = make_window(scene_image(h=14, w=16, c=1))
    ctl, doc = window.controller, window.controller.doc
    x, k1, b1 = doc.input.copy(), doc.kernel.copy(), doc.bias.copy()
    window.layer_actions["add_pool"].trigger()
    settle(window)
    assert doc.shown == 0  # a pooling layer has no insides to show
    window.layer_actions["add_conv"].trigger()
    settle(window)
    tabs = window.layer_bar.tabs
    assert doc.shown == 2 and tabs.count() == 3 and not tabs.isTabEnabled(1)
    assert tabs.tabText(1).startswith("2  MaxPooling2D(2×2) → 6×7×2")
    want = slow_max_pool(layer_one_output(x, k1, b1), (2, 2), (2, 2), "valid")
    np.testing.assert_allclose(doc.input, want, rtol=1e-6, atol=1e-6)
    assert doc.channel_names[0] == "pooled map 1 of layer 1"
    tabs.setCurrentIndex(1)  # refused: stays on layer 3
    settle(window)
    assert doc.shown == 2 and tabs.currentIndex() == 2
    assert_views_match_model(window)
    window.layer_actions["remove"].trigger()  # the shown last layer: layer 1 is shown
    settle(window)
    assert doc.shown == 0 and [r.kind for r in ctl.frame.layers] == ["Conv2D", "MaxPooling2D"]


def test_at_most_four_layers_and_none_with_nothing_to_read(make_window):
    window = make_window(scene_image(h=9, w=9, c=1))
    ctl, doc = window.controller, window.controller.doc
    assert ctl.add_layer("conv") and ctl.add_layer("conv")  # 7x7, 5x5, 3x3
    assert ctl.add_layer("conv")  # 1x1
    settle(window)
    assert len(doc.network_layers()) == 4
    assert not window.layer_actions["add_conv"].isEnabled()
    assert not ctl.add_layer("pool")
    assert "at most 4" in window.statusBar().currentMessage()
    ctl.remove_last_layer()
    ctl.show_layer(0)
    ctl.change_settings(kernel_size=(5, 5))  # layer 1 makes 5x5: layer 3 reads 1x1
    settle(window)
    assert not ctl.add_layer("conv")
    assert "Layer 3's output is 1×1" in window.statusBar().currentMessage()
    tab = window.layer_bar.tabs
    assert tab.tabText(2).endswith("→ 1×1×4")


def test_keyboard_steps_between_conv_layers(window, qtbot):
    ctl = window.controller
    ctl.add_layer("pool")
    ctl.add_layer("conv")
    settle(window)
    assert ctl.doc.shown == 2
    qtbot.keyClick(window, Qt.Key.Key_PageUp, Qt.KeyboardModifier.AltModifier)
    settle(window)
    assert ctl.doc.shown == 0  # past the pooling layer
    qtbot.keyClick(window, Qt.Key.Key_PageDown, Qt.KeyboardModifier.AltModifier)
    settle(window)
    assert ctl.doc.shown == 2


def test_the_code_dialog_and_shapes_dock_cover_the_network(window):
    ctl = window.controller
    ctl.add_layer("pool")
    ctl.add_layer("conv")
    settle(window)
    dialog = window.inspector.show_code()
    assert list(dialog.editors) == ["Keras", "PyTorch", "Keras network", "PyTorch network"]
    keras_net = dialog.editors["Keras network"].toPlainText()
    assert (
        "keras.layers.MaxPooling2D((2, 2), strides=None, padding='valid'),  # layer 2" in keras_net
    )
    assert "convs[1].set_weights([kernel3, bias3])" in keras_net
    assert "(H', W', C) = (3, 4, 4)" in keras_net  # 12x14 -> 10x12 -> 5x6 -> 3x4
    torch_net = dialog.editors["PyTorch network"].toPlainText()
    assert "torch.nn.Conv2d(2, 4, (3, 3)" in torch_net  # layer 3 reads layer 1's 2 maps
    dialog.close()
    window.inspector.shapes_dock.show()
    settle(window)
    text = window.inspector.shapes_label.text()
    assert "▶ layer 3 Conv2D(4, 3×3)" in text and "(5, 6, 2) → (3, 4, 4), 76 parameters" in text


def test_a_heavy_layer_input_is_computed_on_the_worker(window, qtbot):
    ctl, doc = window.controller, window.controller.doc
    ctl.add_layer("conv")
    settle(window)
    ctl.show_layer(0)
    settle(window)
    ctl.background_work = 0  # stands for layers of 1024x1024x16: seconds of work
    x, k1, b1 = doc.input.copy(), doc.kernel.copy(), doc.bias.copy()
    assert ctl.show_layer(1)
    assert doc.shown == 0 and ctl.computing  # the window keeps layer 1 meanwhile
    assert "Computing layer 2's input" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: doc.shown == 1 and not ctl.computing, timeout=PATIENCE_MS)
    np.testing.assert_allclose(doc.input, layer_one_output(x, k1, b1), rtol=1e-6, atol=1e-6)
    assert_views_match_model(window)
    # An edit of layer 1 while layer 2's input is computed: computed again, with it.
    ctl.show_layer(0)
    settle(window)
    qtbot.waitUntil(lambda: not ctl.computing, timeout=PATIENCE_MS)
    ctl.show_layer(1)
    ctl.set_kernel_value(0, 0, 0, 5.0)  # layer 1's filter 1, during the job
    k1 = doc.kernel.copy()
    qtbot.waitUntil(lambda: doc.shown == 1 and not ctl.computing, timeout=PATIENCE_MS)
    np.testing.assert_allclose(doc.input, layer_one_output(x, k1, b1), rtol=1e-6, atol=1e-6)
    # Undo goes back to layer 1 (on the worker) and takes the edit back there.
    ctl.undo()
    qtbot.waitUntil(lambda: doc.shown == 0, timeout=PATIENCE_MS)
    assert doc.kernel[0, 0, 0, 0] != np.float32(5.0)
    del ctl.background_work  # the class's own threshold again: the maps in this turn
    qtbot.waitUntil(lambda: not ctl.computing, timeout=PATIENCE_MS)
    assert_views_match_model(window)


def test_removing_the_shown_layer_waits_for_the_one_before(window, qtbot):
    ctl, doc = window.controller, window.controller.doc
    ctl.add_layer("conv")
    ctl.add_layer("conv")
    settle(window)
    assert doc.shown == 2
    ctl.background_work = 0
    assert ctl.remove_last_layer()
    assert len(doc.network_layers()) == 3 and ctl.computing  # layer 2's input first
    qtbot.waitUntil(lambda: len(doc.network_layers()) == 2, timeout=PATIENCE_MS)
    assert doc.shown == 1
    assert window.undo_action.text() == "Undo Remove layer 3: Conv2D(4, 3×3)"
    ctl.undo()  # made on layer 2, which is shown: at once
    assert len(doc.network_layers()) == 3 and doc.shown == 1


def test_the_network_input_shown_is_the_new_networks_after_opening_another(make_window):
    window = make_window(scene_image(h=12, w=14, c=1))
    ctl = window.controller
    ctl.add_layer("conv")
    settle(window)
    other = make_window(scene_image(h=10, w=11, c=3, seed=4)).controller.network_state()
    # Opened and given a second layer within one turn: one frame for both.
    ctl.open_state(other)
    ctl.add_layer("conv")
    settle(window)
    network = [c for c in window.network_panel.cells if c.index >= 0]
    assert len(network) == 3
    for cell in network:
        np.testing.assert_array_equal(shown(cell), other["input"][:, :, cell.index])
