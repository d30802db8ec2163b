import numpy as np

from convviz import conv2d
from convviz.core.brush import paint_segment
from convviz.core.commands import History, SetKernelValue
from convviz.core.model import INPUT, default_document
from convviz.core.pipeline import Pipeline, box_change


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
