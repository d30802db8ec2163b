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
