"""One memory budget: a layer's peak is predicted before any array is read, and a
session over the budget is refused with the size that would fit."""

import numpy as np

from convviz.core.budget import MEMORY_BUDGET, fitting_side, layer_peak_bytes
from convviz.core.model import LayerSettings
from convviz.io.session import load_session, save_session
from tests.core.test_session import edited, refused

MIB = 1 << 20


def slow_peak(h, w, c, s):
    """The same sum written out plainly, for 'same' padding and stride 1 only."""
    kh, kw = s.kernel_size
    ho, wo = h, w
    hp, wp = h + kh - 1, w + kw - 1
    floats = 4 * h * w * c + c * hp * wp + 2 * s.filters * ho * wo + c * ho * wo
    pixels = (c + 1) * h * w + (c + 2 + s.filters) * ho * wo
    return 150 * MIB + 64 * MIB + 4 * (floats + pixels)


def test_the_prediction_adds_up_what_a_layer_holds():
    s = LayerSettings(filters=16, kernel_size=(11, 11), padding="same")
    for h, w, c in [(64, 64, 3), (512, 512, 16), (1024, 768, 4)]:
        assert layer_peak_bytes(h, w, c, s) == slow_peak(h, w, c, s)


def test_the_issues_sessions_are_over_the_budget_and_the_default_sizes_within():
    big = LayerSettings(filters=16, kernel_size=(11, 11), padding="same")
    assert layer_peak_bytes(3535, 3535, 16, big) > MEMORY_BUDGET  # took 7.9 GB
    assert layer_peak_bytes(16384, 3051, 4, LayerSettings()) > MEMORY_BUDGET  # took 6.25 GB
    # What the app offers by default, and the largest benchmark, fit.
    assert layer_peak_bytes(256, 256, 16, big) < MEMORY_BUDGET
    assert layer_peak_bytes(1024, 1024, 16, big) < MEMORY_BUDGET


def test_the_size_that_fits_is_the_largest_that_fits():
    s = LayerSettings(filters=16, kernel_size=(11, 11), padding="same")
    side = fitting_side(3535, 3535, 16, s)
    assert 256 < side < 3535
    assert layer_peak_bytes(side, side, 16, s) <= MEMORY_BUDGET
    assert layer_peak_bytes(side + 1, side + 1, 16, s) > MEMORY_BUDGET


def _state():
    s = LayerSettings(filters=16, kernel_size=(11, 11), padding="same")
    return dict(
        input=np.zeros((8, 8, 16), np.float32),
        kernel=np.zeros((11, 11, 16, 16), np.float32),
        bias=np.zeros(16, np.float32),
        settings=s,
        channel_names=tuple(f"c{i}" for i in range(16)),
        selected_filter=0,
    )


def test_a_small_file_declaring_a_huge_layer_is_refused_before_reading_it(tmp_path):
    good = save_session(tmp_path / "good.convviz", _state())
    load_session(good)  # the small one opens

    def huge(meta):
        meta["arrays"]["input"]["shape"] = [3535, 3535, 16]

    bad = edited(good, tmp_path, huge)
    assert bad.stat().st_size < 100_000
    message = refused(bad, "GiB of memory", "3535×3535 pixels × 16 channels", "budget of 1.0 GiB")
    side = fitting_side(3535, 3535, 16, _state()["settings"])
    assert f"at most {side} pixels on its longer side would fit" in message


def test_the_budget_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "1 GiB" in readme and "memory" in readme
