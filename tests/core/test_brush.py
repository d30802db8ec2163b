import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convviz.core.brush import paint_segment
from convviz.core.geometry import box_union


def slow_distances(shape, p0, p1):
    """Distance from every pixel centre to the segment, by dense sampling of the segment."""
    h, w = shape
    t = np.linspace(0, 1, 4001)
    pts = np.stack([p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])], axis=1)
    out = np.zeros(shape)
    for i in range(h):
        for j in range(w):
            out[i, j] = np.sqrt(np.min((pts[:, 0] - (i + 0.5)) ** 2 + (pts[:, 1] - (j + 0.5)) ** 2))
    return out


def test_fast_stroke_is_continuous():
    # Two far-apart mouse positions (a dropped-events stroke) still paint a solid line.
    img = np.zeros((20, 40, 1), np.float32)
    paint_segment(img, [0], (10.5, 1.5), (10.5, 38.5), radius=0.5, value=1.0)
    assert img[10, 1:39, 0].all()
    assert img[:, :, 0].sum() == 38


def test_paints_only_the_chosen_channels_and_reports_the_box():
    img = np.zeros((10, 10, 3), np.float32)
    box = paint_segment(img, [0, 2], (5.0, 5.0), (5.0, 5.0), radius=1.0, value=0.7)
    assert img[..., 1].sum() == 0
    assert np.allclose(img[..., 0], img[..., 2])
    changed = np.argwhere(img[..., 0] != 0)
    assert changed[:, 0].min() >= box[0].start and changed[:, 0].max() < box[0].stop
    assert changed[:, 1].min() >= box[1].start and changed[:, 1].max() < box[1].stop
    assert np.isclose(img[4, 4, 0], 0.7)


def test_segment_outside_the_image_changes_nothing():
    img = np.zeros((5, 5, 1), np.float32)
    assert paint_segment(img, [0], (-10, -10), (-8, -20), 1.0, 1.0) is None
    assert not img.any()


@settings(max_examples=40, deadline=None)
@given(
    r0=st.floats(-2, 12),
    c0=st.floats(-2, 12),
    r1=st.floats(-2, 12),
    c1=st.floats(-2, 12),
    radius=st.sampled_from([0.5, 1.0, 1.5, 2.5]),
)
def test_matches_dense_sampling(r0, c0, r1, c1, radius):
    img = np.zeros((10, 10, 1), np.float32)
    paint_segment(img, [0], (r0, c0), (r1, c1), radius, 1.0)
    dist = slow_distances((10, 10), (r0, c0), (r1, c1))
    painted = img[..., 0] == 1
    # Sampling overestimates a distance by at most ~0.005: judge only clear-cut pixels.
    assert painted[dist <= radius - 0.01].all()
    assert not painted[dist >= radius + 0.01].any()


def test_box_union():
    a = (slice(1, 3), slice(2, 4))
    b = (slice(0, 2), slice(3, 9))
    assert box_union([a, b]) == (slice(0, 3), slice(2, 9))
    assert box_union([None, b]) == b


def test_stroke_memory_gives_back_what_overlapping_segments_painted_over():
    from convviz.core.brush import StrokeMemory, paint_segment, segment_box

    rng = np.random.default_rng(3)
    for radius in (0.5, 2.0, 9.0, 60.0):  # 60: the boxes outgrow the image, kept whole
        image = rng.random((50, 70, 3)).astype(np.float32)
        start = image.copy()
        memory = StrokeMemory(image)
        last, painted = (25.0, 35.0), None
        for value in rng.random(40):
            point = (rng.uniform(-5, 55), rng.uniform(-5, 75))
            memory.before_painting(segment_box(image.shape, last, point, radius))
            painted = box_union([painted, paint_segment(image, [1], last, point, radius, value)])
            last = point
        assert not np.array_equal(image, start)
        np.testing.assert_array_equal(memory.original(painted), start[painted])
        everything = (slice(0, 50), slice(0, 70))
        np.testing.assert_array_equal(memory.original(everything), start)
        corner = (slice(3, 9), slice(60, 70))
        np.testing.assert_array_equal(memory.original(corner), start[corner])
        # It copies: the answer is not a view of the image.
        assert not np.shares_memory(memory.original(painted), image)
