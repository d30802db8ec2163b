import numpy as np
import pytest

from convviz import conv2d
from convviz.core.brush import paint_segment
from convviz.core.changes import INPUT, box_change
from convviz.core.commands import SetKernelValue
from convviz.core.history import History
from convviz.core.model import default_document
from convviz.core.pipeline import Pipeline


def largest_shown(doc):
    """The largest magnitude over every map the views show, recomputed from scratch."""
    s = doc.settings
    res = conv2d(
        doc.input, doc.kernel, doc.bias, kernel_map_filters=[doc.selected_filter], **s.conv_kwargs()
    )
    return max(
        np.abs(a).max()
        for a in (res.pre_activation, res.feature_maps, res.kernel_maps_of(doc.selected_filter))
    )


def test_local_edits_grow_the_colour_scale_to_cover_new_values():
    doc = default_document(np.random.default_rng(0).random((20, 24, 3)).astype(np.float32))
    pipe = Pipeline()
    doc.subscribe(pipe.note)
    lo, hi = pipe.compute(doc).levels
    assert hi >= largest_shown(doc) and lo == -hi

    # A brush stroke far brighter than the picture: only its box is recomputed...
    box = paint_segment(doc.input, [0], (5.5, 5.5), (5.5, 9.5), 1.0, 40.0)
    doc.notify({INPUT, box_change(box)})
    out = pipe.compute(doc)
    assert out.changed_filters is None and pipe.full_recomputes == 1
    # ...and still the scale covers the new extreme values, so nothing saturates.
    assert out.levels[1] >= largest_shown(doc)

    History(doc).push(SetKernelValue((1, 1, 2, 1), doc.kernel[1, 1, 2, 1], 90.0))
    out = pipe.compute(doc)
    assert out.changed_filters == frozenset({1}) and pipe.full_recomputes == 1
    assert out.levels[1] >= largest_shown(doc)


def test_the_colour_scale_shrinks_after_an_edit_is_undone_but_not_during_a_gesture():
    doc = default_document(np.random.default_rng(1).random((20, 24, 3)).astype(np.float32))
    pipe = Pipeline()
    doc.subscribe(pipe.note)
    small = pipe.compute(doc).levels
    history = History(doc)
    history.push(SetKernelValue((1, 1, 0, 0), doc.kernel[1, 1, 0, 0], -31.0))
    big = pipe.compute(doc).levels
    assert big[1] >= 31 * 0.5 and pipe.full_recomputes == 1
    history.undo()
    out = pipe.compute(doc)
    assert out.changed_filters == frozenset({0}) and pipe.full_recomputes == 1
    assert out.levels == small  # back to the scale the data had before
    assert largest_shown(doc) <= out.levels[1] < 3 * largest_shown(doc) + 1e-6

    # During a gesture the scale grows but does not shrink; it fits once the gesture ends.
    pipe.hold = True
    box = paint_segment(doc.input, [0], (5.5, 5.5), (5.5, 9.5), 1.0, 50.0)
    doc.notify({INPUT, box_change(box)})
    grown = pipe.compute(doc).levels
    assert grown[1] >= largest_shown(doc) > 3 * small[1]
    box = paint_segment(doc.input, [0], (5.5, 5.5), (5.5, 9.5), 1.0, 0.5)
    doc.notify({INPUT, box_change(box)})
    assert pipe.compute(doc).levels == grown
    pipe.hold = False
    settled = pipe.compute(doc).levels
    assert pipe.full_recomputes == 1
    assert largest_shown(doc) <= settled[1] < grown[1] / 3


def _grouped_document(selected):
    """Input of 4 channels, 4 filters in 2 groups of 2 channels, 5x5 kernels, dilation 2."""
    from convviz.core.model import Document, LayerSettings

    rng = np.random.default_rng(7)
    settings = LayerSettings(
        kernel_size=(5, 5), filters=4, padding="same", dilation=(2, 2), groups=2
    )
    return Document(
        input=rng.random((30, 32, 4)).astype(np.float32),
        kernel=rng.normal(size=(5, 5, 2, 4)).astype(np.float32),
        bias=rng.normal(size=4).astype(np.float32),
        settings=settings,
        channel_names=("a", "b", "c", "d"),
        selected_filter=selected,
    )


def test_a_brush_box_on_one_channel_names_the_maps_it_changed_and_leaves_the_others():
    for selected, painted, expected_maps in ((0, 1, {1}), (3, 2, {0}), (3, 1, set())):
        doc = _grouped_document(selected)
        pipe = Pipeline()
        doc.subscribe(pipe.note)
        pipe.compute(doc)
        kernel_maps_before = pipe.cache.kernel_maps.copy()
        box = paint_segment(doc.input, [painted], (10.5, 8.5), (14.5, 20.5), 2.0, 1.0)
        doc.notify({INPUT, box_change(box, [painted])})
        out = pipe.compute(doc)
        assert pipe.full_recomputes == 1  # a brush box, recomputed in place
        assert out.input_channels == frozenset({painted})
        assert out.changed_kernel_maps == frozenset(expected_maps)
        # The layer is what a fresh computation gives, every map of it...
        res = conv2d(
            doc.input,
            doc.kernel,
            doc.bias,
            kernel_map_filters=[selected],
            **doc.settings.conv_kwargs(),
        )
        np.testing.assert_allclose(out.pre_activation, res.pre_activation, atol=1e-5)
        np.testing.assert_allclose(out.feature_maps, res.feature_maps, atol=1e-5)
        np.testing.assert_allclose(out.kernel_maps, res.kernel_maps_of(selected), atol=1e-5)
        # ...and the kernel maps of the channels not painted kept their very values.
        for k in range(2):
            if k not in expected_maps:
                np.testing.assert_array_equal(out.kernel_maps[..., k], kernel_maps_before[..., k])
            else:
                assert not np.array_equal(out.kernel_maps[..., k], kernel_maps_before[..., k])


def test_a_box_without_channels_may_have_changed_any():
    doc = _grouped_document(0)
    pipe = Pipeline()
    doc.subscribe(pipe.note)
    pipe.compute(doc)
    box = paint_segment(doc.input, [0, 1], (10.5, 8.5), (14.5, 20.5), 2.0, 1.0)
    doc.notify({INPUT, box_change(box)})  # an undo of a stroke: the whole box
    doc.notify({INPUT, box_change(box, [3])})
    out = pipe.compute(doc)
    assert out.input_channels is None and out.changed_kernel_maps is None
    assert out.input_box is not None


def test_replacing_weights_names_the_filters_that_changed():
    from convviz.core.changes import WEIGHTS, Change
    from convviz.core.commands import state_command
    from convviz.core.history import History

    doc = _grouped_document(0)
    heard = []
    doc.subscribe(heard.append)
    kernel, bias = doc.kernel.copy(), doc.bias.copy()
    kernel[2, 2, 1, 3] += 1.0
    bias[1] -= 0.5
    history = History(doc)
    history.push(state_command(doc, "two filters", {WEIGHTS}, kernel=kernel, bias=bias))
    assert heard[-1] == Change(weights=True, filters=frozenset({1, 3}))
    history.undo()
    assert heard[-1] == Change(weights=True, filters=frozenset({1, 3}))


def test_a_filter_computed_elsewhere_is_installed_unless_the_layer_moved_on():
    from convviz.core.commands import SetKernelValue

    doc = _grouped_document(2)
    pipe = Pipeline()
    doc.subscribe(pipe.note)
    pipe.compute(doc)
    history = History(doc)
    kernel = doc.kernel.copy()
    kernel[..., 2] = np.random.default_rng(9).normal(size=kernel.shape[:3])
    from convviz.core.changes import SETTINGS, WEIGHTS
    from convviz.core.commands import state_command

    history.push(state_command(doc, "new filter 3", {WEIGHTS}, kernel=kernel))
    assert pipe.heavy_filters(doc) == [2]  # every value changed: recomputed whole
    job = pipe.filters_job(doc, [2])
    history.push(SetKernelValue((0, 0, 0, 0), doc.kernel[0, 0, 0, 0], 3.0))  # meanwhile
    out = pipe.adopt_filters(job(), doc)
    assert out.changed_filters == frozenset({2}) and out.changed_kernel_maps is None
    assert pipe.pending  # the edit made meanwhile is still to do
    out = pipe.compute(doc)
    res = conv2d(
        doc.input, doc.kernel, doc.bias, kernel_map_filters=[2], **doc.settings.conv_kwargs()
    )
    np.testing.assert_allclose(out.pre_activation, res.pre_activation, atol=1e-5)
    np.testing.assert_allclose(out.feature_maps, res.feature_maps, atol=1e-5)
    np.testing.assert_allclose(out.kernel_maps, res.kernel_maps_of(2), atol=1e-5)
    assert pipe.full_recomputes == 1

    kernel[..., 2] *= -1
    history.push(state_command(doc, "again", {WEIGHTS}, kernel=kernel))
    job = pipe.filters_job(doc, pipe.heavy_filters(doc))
    doc.notify({SETTINGS})  # the layer changed while the filter was computed
    assert pipe.adopt_filters(job(), doc) is None


def _all_finite(doc):
    s = doc.settings
    f = doc.selected_filter
    res = conv2d(doc.input, doc.kernel, doc.bias, kernel_map_filters=[f], **s.conv_kwargs())
    return all(
        np.isfinite(a).all() for a in (res.pre_activation, res.feature_maps, res.kernel_maps_of(f))
    )


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_outputs_say_finite_only_when_every_map_is():
    """Views skip their own check for inf and NaN when the outputs say finite: it must
    never be said of maps that hold one, whichever way they were updated."""
    doc = default_document(np.random.default_rng(2).random((20, 24, 3)).astype(np.float32))
    pipe = Pipeline()
    doc.subscribe(pipe.note)
    history = History(doc)
    assert pipe.compute(doc).finite and _all_finite(doc)
    # A kernel value that overflows float32 in one tap, then undone.
    history.push(SetKernelValue((0, 0, 1, 1), doc.kernel[0, 0, 1, 1], 3e38))
    doc.input[...] = 3.0
    doc.notify({INPUT})
    out = pipe.compute(doc)
    assert not _all_finite(doc) and not out.finite
    history.undo()
    out = pipe.compute(doc)
    assert _all_finite(doc) and out.finite
    # A brush box of huge values on one channel, updated by difference.
    box = paint_segment(doc.input, [1], (5.5, 5.5), (5.5, 9.5), 1.0, 3e38)
    doc.notify({INPUT, box_change(box, [1])})
    out = pipe.compute(doc)
    assert not _all_finite(doc) and not out.finite
    box = paint_segment(doc.input, [1], (5.5, 5.5), (5.5, 9.5), 1.5, 0.5)
    doc.notify({INPUT, box_change(box, [1])})
    out = pipe.compute(doc)
    assert _all_finite(doc)  # measured again once the maxima are rescanned
    out = pipe.rescan_levels(doc) or out
    assert out.finite
