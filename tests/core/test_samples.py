"""The built-in samples: drawn by code, shipped as PNGs, loaded like user files."""

import numpy as np
import pytest
from PIL import Image

from convviz.core.resources import resource_dir
from convviz.io.inputs import InputError
from convviz.io.samples import SAMPLES, load_sample, make_sample, sample_path, write_samples


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image)


SHAPES = {
    "digit": (28, 28, 1),
    "colour": (64, 64, 3),
    "checkerboard": (32, 32, 1),
    "gradient": (32, 32, 1),
}


def test_the_menu_lists_the_samples_in_order_with_one_line_descriptions():
    assert list(SAMPLES) == list(SHAPES)
    assert all(text and "\n" not in text for text in SAMPLES.values())


@pytest.mark.parametrize("name", list(SHAPES))
def test_shipped_png_is_what_the_code_draws(name):
    path = sample_path(name)
    assert path == resource_dir() / "samples" / f"{name}.png"
    stored = pixels(path) / 255.0
    drawn = make_sample(name)
    assert drawn.shape == SHAPES[name] and drawn.dtype == np.float32
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0
    np.testing.assert_allclose(stored.reshape(drawn.shape), drawn, atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("name", list(SHAPES))
def test_load_sample(name):
    loaded = load_sample(name)
    assert loaded.array.shape == SHAPES[name]
    expected = ("R", "G", "B") if name == "colour" else ("grey",)
    assert loaded.channel_names == expected
    assert loaded.source == sample_path(name) and not loaded.downscaled


def test_drawing_is_deterministic():
    for name in SHAPES:
        np.testing.assert_array_equal(make_sample(name), make_sample(name))


def test_regenerating_reproduces_the_shipped_files(tmp_path):
    for path in write_samples(tmp_path):
        np.testing.assert_array_equal(pixels(path), pixels(sample_path(path.stem)))


def test_color_is_an_alias_and_names_are_forgiving():
    np.testing.assert_array_equal(make_sample("color"), make_sample("colour"))
    assert sample_path(" Color ") == sample_path("colour")
    assert load_sample("COLOR").channel_names == ("R", "G", "B")


@pytest.mark.parametrize("call", [make_sample, sample_path, load_sample])
def test_unknown_sample_lists_the_valid_names(call):
    with pytest.raises(InputError) as info:
        call("cat")
    assert "'cat'" in str(info.value)
    assert all(name in str(info.value) for name in SAMPLES)


def test_digit_looks_like_mnist():
    digit = make_sample("digit")[:, :, 0]
    assert digit[:3].max() < 0.05 and digit[:, :3].max() < 0.05  # black margin
    ink = digit > 0.5
    assert 0.1 < ink.mean() < 0.3  # a thick stroke, not a hairline nor a blob
    assert ((digit > 0.05) & (digit < 0.95)).sum() > 40  # anti-aliased edges
    rows, cols = np.nonzero(ink)
    assert abs(rows.mean() - 13.5) < 3 and abs(cols.mean() - 13.5) < 3  # centred


def test_colour_channels_show_different_shapes():
    scene = make_sample("colour")
    r, g, b = (scene[:, :, k] > 0.5 for k in range(3))
    for one, other in ((r, g), (g, b), (r, b)):
        overlap = (one & other).sum() / max(1, (one | other).sum())
        assert overlap < 0.3
    assert min(r.sum(), g.sum(), b.sum()) > 200
    assert scene[2, 2].max() < 0.15  # dark background


def test_checkerboard_and_gradient():
    board = make_sample("checkerboard")[:, :, 0]
    assert set(np.unique(board)) == {0.0, 1.0}
    np.testing.assert_array_equal(board[:4, :4], 0.0)
    np.testing.assert_array_equal(board[:4, 4:8], 1.0)
    np.testing.assert_array_equal(board[4:8, :4], 1.0)
    ramp = make_sample("gradient")[:, :, 0]
    assert ramp[0, 0] == 0.0 and ramp[0, -1] == 1.0
    assert np.all(np.diff(ramp, axis=1) > 0) and np.all(ramp == ramp[:1])
