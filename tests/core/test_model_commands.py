import numpy as np
import pytest

from convviz.core.changes import WEIGHTS, Change
from convviz.core.commands import PaintCommand, SetBias, SetKernelValue, state_command
from convviz.core.history import History
from convviz.core.model import (
    Document,
    LayerSettings,
    default_document,
    reshaped_weights,
    resize_kernel,
)


def doc3():
    rng = np.random.default_rng(0)
    return default_document(rng.random((8, 9, 3)).astype(np.float32))


def test_default_document_is_keras_conv2d_2_3_relu():
    d = doc3()
    assert d.kernel.shape == (3, 3, 3, 2)
    assert d.settings.activation == "relu" and d.settings.filters == 2
    assert np.array_equal(d.kernel[:, :, 1, 0], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert d.channel_names == ("R", "G", "B")
    assert not d.bias.any()


def test_document_refuses_contradictions():
    with pytest.raises(ValueError, match="kernel shape"):
        Document(
            np.zeros((4, 4, 3)),
            np.zeros((3, 3, 2, 2)),
            np.zeros(2),
            LayerSettings(),
            ("R", "G", "B"),
        )
    with pytest.raises(ValueError, match="groups"):
        Document(
            np.zeros((4, 4, 3)),
            np.zeros((3, 3, 1, 2)),
            np.zeros(2),
            LayerSettings(groups=2),
            ("R", "G", "B"),
        )


def test_kernel_edit_undo_redo_restores_exact_arrays():
    d = doc3()
    h = History(d)
    seen = []
    d.subscribe(seen.append)
    before = d.kernel.copy()
    h.push(SetKernelValue((0, 1, 2, 1), d.kernel[0, 1, 2, 1], 1 / 9))
    assert d.kernel[0, 1, 2, 1] == np.float32(1 / 9)
    # Which filter changed, for a partial recompute.
    assert seen == [Change(weights=True, filters=frozenset({1}))]
    assert h.undo_label == "Set kernel 3 of filter 2, row 1, column 2"
    h.undo()
    assert np.array_equal(d.kernel, before)
    h.redo()
    assert d.kernel[0, 1, 2, 1] == np.float32(1 / 9)


def test_nudges_of_one_cell_merge_until_the_gesture_ends():
    d = doc3()
    h = History(d)
    start = float(d.kernel[1, 1, 0, 0])
    for i in range(5):
        h.push(SetKernelValue((1, 1, 0, 0), d.kernel[1, 1, 0, 0], start + 0.1 * (i + 1), True))
    h.close_merge()
    h.push(SetKernelValue((1, 1, 0, 0), d.kernel[1, 1, 0, 0], 9.0, True))
    h.undo()
    assert np.isclose(d.kernel[1, 1, 0, 0], start + 0.5)
    h.undo()
    assert d.kernel[1, 1, 0, 0] == np.float32(start)
    assert h.undo_label is None


def test_paint_and_bias_and_state_commands():
    d = doc3()
    h = History(d)
    original = d.input.copy()
    box = (slice(1, 3), slice(2, 5))
    old = d.input[box].copy()
    d.input[box] = 0.25  # a stroke paints live, then is recorded as applied
    h.push(PaintCommand("Paint on R", box, old, d.input[box].copy()), applied=True)
    h.push(SetBias(1, 0.0, -0.5))
    new_kernel = np.ones_like(d.kernel)
    h.push(state_command(d, "Preset", {WEIGHTS}, kernel=new_kernel))
    assert d.bias[1] == -0.5 and (d.kernel == 1).all()
    for _ in range(3):
        h.undo()
    assert np.array_equal(d.input, original) and not d.bias.any()
    for _ in range(3):
        h.redo()
    assert (d.input[box] == 0.25).all() and (d.kernel == 1).all()


def test_clean_state_tracks_save_point():
    d = doc3()
    h = History(d)
    assert h.is_clean
    h.push(SetBias(0, 0, 1))
    assert not h.is_clean
    h.set_clean()
    h.undo()
    assert not h.is_clean
    h.push(SetBias(0, 0, 2))  # the saved state is now unreachable
    assert not h.is_clean
    h.undo()
    assert not h.is_clean


def test_resize_kernel_keeps_values_centred():
    k = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    big = resize_kernel(k, 5, 5)
    assert np.array_equal(big[1:4, 1:4], k) and big.sum() == k.sum()
    assert np.array_equal(resize_kernel(big, 3, 3), k)


def test_reshaped_weights_keeps_existing_filters_and_draws_new_ones():
    d = doc3()
    d.bias[:] = [0.5, -0.5]
    new = LayerSettings(filters=4)
    kernel, bias = reshaped_weights(d, new, 3, np.random.default_rng(0))
    assert kernel.shape == (3, 3, 3, 4)
    assert np.array_equal(kernel[..., :2], d.kernel)
    assert bias.tolist() == [0.5, -0.5, 0, 0]
    assert kernel[..., 2:].any()


def test_settings_within_limits():
    from convviz.core.model import MAX_FILTERS, MAX_KERNEL, LayerSettings

    assert LayerSettings(filters=MAX_FILTERS, kernel_size=(MAX_KERNEL, 1)).within_limits()
    assert not LayerSettings(filters=MAX_FILTERS + 1).within_limits()
    assert not LayerSettings(filters=0).within_limits()
    assert not LayerSettings(kernel_size=(3, MAX_KERNEL + 1)).within_limits()


def test_nudges_of_different_cells_are_separate_steps_even_in_one_gesture():
    d = doc3()
    d.kernel[0, 0, 0, 0], d.kernel[2, 2, 0, 0] = 1.0, 1.0
    h = History(d)
    h.push(SetKernelValue((0, 0, 0, 0), 1.0, 2.0, nudge=True))
    h.push(SetKernelValue(np.array([2, 2, 0, 0]), 1.0, 2.0, nudge=True))  # no close_merge
    h.push(SetKernelValue((0, 0, 0, 1), d.kernel[0, 0, 0, 1], 3.0, nudge=True))  # filter 2
    assert h.undo_label == "Nudge kernel 1 of filter 2, row 1, column 1"
    h.undo()
    assert d.kernel[2, 2, 0, 0] == 2.0
    h.undo()
    assert (d.kernel[0, 0, 0, 0], d.kernel[2, 2, 0, 0]) == (2.0, 1.0)
    h.undo()
    assert d.kernel[0, 0, 0, 0] == 1.0 and h.undo_label is None


def test_a_nudge_that_does_not_continue_the_last_one_is_its_own_step():
    """A value changed outside the history between two nudges (a training preview) is a
    state undo must come back to."""
    d = doc3()
    d.kernel[1, 1, 0, 0] = 1.0
    h = History(d)
    h.push(SetKernelValue((1, 1, 0, 0), 1.0, 2.0, nudge=True))
    d.kernel[1, 1, 0, 0] = 5.0
    h.push(SetKernelValue((1, 1, 0, 0), 5.0, 5.1, nudge=True))
    h.undo()
    assert d.kernel[1, 1, 0, 0] == 5.0
    h.undo()
    assert d.kernel[1, 1, 0, 0] == 1.0


def test_document_refuses_what_keras_refuses():
    image = np.zeros((9, 9, 1), np.float32)
    with pytest.raises(ValueError, match=r"strides > 1 .* dilation_rate > 1 \(Keras refuses"):
        Document(
            image,
            np.zeros((3, 3, 1, 1)),
            np.zeros(1),
            LayerSettings(filters=1, strides=(1, 2), dilation=(2, 1)),
            ("grey",),
        )
    assert LayerSettings(strides=(2, 2)).keras_refusal() is None
    assert LayerSettings(dilation=(1, 3)).keras_refusal() is None


def test_a_reader_snapshot_shares_one_read_only_copy_of_the_input_until_it_changes():
    d = doc3()
    history = History(d)
    first = d.reader_snapshot()
    assert np.array_equal(first["input"], d.input) and first["input"] is not d.input
    assert not first["input"].flags.writeable
    with pytest.raises(ValueError):
        first["input"][0, 0, 0] = 1.0
    # Weights and selection changes: the input's copy is the same object, the rest new.
    history.push(SetKernelValue((0, 0, 0, 0), d.kernel[0, 0, 0, 0], 5.0))
    again = d.reader_snapshot()
    assert again["input"] is first["input"]
    assert again["kernel"][0, 0, 0, 0] == 5.0 and again["kernel"] is not d.kernel
    assert again["kernel"].flags.writeable  # a trainer may start from them
    # Painted in place: a new copy holds the new values; the old one keeps the old.
    before = first["input"].copy()
    box = (slice(1, 3), slice(2, 4))
    history.push(PaintCommand("Paint", box, d.input[box].copy(), np.float32(0.75)))
    painted = d.reader_snapshot()
    assert painted["input"] is not first["input"]
    assert np.array_equal(painted["input"], d.input) and painted["input"][1, 2, 0] == 0.75
    assert np.array_equal(first["input"], before)
    # A new input array (undo of a new image, say): copied again.
    history.push(state_command(d, "New", {"input"}, input=np.zeros((8, 9, 3), np.float32)))
    assert not d.reader_snapshot()["input"].any()
    history.undo()
    assert np.array_equal(d.reader_snapshot()["input"], painted["input"])
    # snapshot() still gives writable copies of everything.
    assert d.snapshot()["input"].flags.writeable


def test_a_change_is_typed_and_two_changes_merge_with_or():
    from convviz.core.changes import INPUT, SETTINGS, box_change, filter_change

    box = (slice(2, 5), slice(1, 9))
    painted = Change.of({INPUT, box_change(box, [1])})
    assert painted.input and not painted.whole_input
    assert painted.input_boxes() == [(box, (1,))]
    assert INPUT in painted and WEIGHTS not in painted
    edit = Change.of({WEIGHTS, filter_change(2)})
    both = painted | edit | Change(weights=True, filters=frozenset({0}))
    assert both.input_boxes() == [(box, (1,))] and both.filters == {0, 2}
    # Anything whole wins over its parts: the whole input, every filter.
    whole = both | Change.of({INPUT}) | Change(weights=True)
    assert whole.whole_input and whole.all_filters and not whole.settings
    assert (whole | Change.of({SETTINGS})).settings
    assert Change.of(painted) is painted
