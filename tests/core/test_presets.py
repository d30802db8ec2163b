import numpy as np
import pytest

from convviz.core.presets import (
    KERNEL_PRESETS,
    canonical_preset,
    filter_preset,
    glorot_limit,
    make_kernel,
)


def test_textbook_3x3_kernels():
    assert make_kernel("sobel x", 3, 3).tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert make_kernel("sobel y", 3, 3).tolist() == [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    assert make_kernel("identity", 3, 3).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert make_kernel("laplacian", 3, 3).tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    g = make_kernel("gaussian", 3, 3)
    assert np.allclose(g * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("name", [p for p in KERNEL_PRESETS if "random" not in p])
@pytest.mark.parametrize("kh,kw", [(1, 1), (2, 3), (3, 3), (5, 5), (11, 4)])
def test_every_preset_every_size(name, kh, kw):
    k = make_kernel(name, kh, kw)
    assert k.shape == (kh, kw) and k.dtype == np.float32 and np.isfinite(k).all()
    if name in ("box blur", "gaussian", "identity"):
        assert np.isclose(k.sum(), 1.0)
    if name in ("sobel x", "sobel y") or (name == "laplacian" and min(kh, kw) >= 3):
        assert np.isclose(k.sum(), 0.0)


def test_glorot_matches_keras_bound_and_is_seeded():
    # Keras: limit = sqrt(6 / (fan_in + fan_out)), fan = kh*kw*channels.
    assert np.isclose(glorot_limit(3, 3, 3, 2), np.sqrt(6 / (27 + 18)))
    a = filter_preset("random", 3, 3, 3, 2, np.random.default_rng(5))
    b = filter_preset("random", 3, 3, 3, 2, np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert np.abs(a).max() <= glorot_limit(3, 3, 3, 2)


def test_filter_preset_puts_the_kernel_on_every_channel():
    f = filter_preset("sobel x", 3, 3, 4, 1, np.random.default_rng())
    assert f.shape == (3, 3, 4)
    for c in range(4):
        assert np.array_equal(f[:, :, c], make_kernel("sobel x", 3, 3))


def test_names_are_forgiving_but_unknown_is_refused():
    assert canonical_preset("Sobel-X") == "sobel x"
    assert canonical_preset("random") == "random (glorot uniform)"
    with pytest.raises(ValueError, match="choose one of"):
        canonical_preset("mystery")
