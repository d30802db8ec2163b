"""convviz.io.inputs on .npy/.npz files, in-memory arrays, downscaling and saving."""

import math
import os
import pickle
import tracemalloc
import zipfile
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convviz.io.inputs import (
    MAX_CHANNELS,
    InputError,
    load_input,
    read_input,
    save_array,
    validate_input_array,
)
from tests.files import sparse_npy

# A refused file allocates a few blocks at most: accepting a hostile input would take
# hundreds of megabytes (the measured peaks are under 2 MB). Memory, not time, shows that
# the refusal came early, so it holds on a busy machine too.
REFUSAL_BYTES = 32_000_000


def reject(path, *words, limit=None):
    limit = REFUSAL_BYTES if limit is None else limit
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_input(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, peak  # refused from the header or a few blocks
    message = str(info.value)
    assert os.path.basename(path) in message
    for word in words:
        assert word in message
    return message


def npy_header_only(path, shape, descr="<f8"):
    with open(path, "wb") as f:
        header = {"descr": descr, "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(f, header)


def area_average_by_hand(a, out_h, out_w):
    """Each output cell is the overlap-weighted mean of the input pixels under it."""
    h, w, _ = a.shape
    out = np.zeros((out_h, out_w, a.shape[2]))
    for i in range(out_h):
        y0, y1 = i * h / out_h, (i + 1) * h / out_h
        for k in range(out_w):
            x0, x1 = k * w / out_w, (k + 1) * w / out_w
            for y in range(h):
                dy = min(y + 1, y1) - max(y, y0)
                for x in range(w):
                    dx = min(x + 1, x1) - max(x, x0)
                    if dy > 0 and dx > 0:
                        out[i, k] += dy * dx * a[y, x]
            out[i, k] /= (y1 - y0) * (x1 - x0)
    return out


# --- hostile array files ------------------------------------------------------


def test_object_array_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    np.save(tmp_path / "evil.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    reject(tmp_path / "evil.npy", "Python objects", "safety")
    assert not marker.exists()


def test_npz_with_pickled_object_array(tmp_path):
    np.savez(tmp_path / "evil.npz", x=np.array([{"a": 1}, None], dtype=object))
    reject(tmp_path / "evil.npz", "Python objects", "'x'")


def test_npz_member_holding_a_raw_pickle(tmp_path):
    with zipfile.ZipFile(tmp_path / "raw.npz", "w") as archive:
        archive.writestr("x.npy", pickle.dumps({"pixels": [1, 2, 3]}))
    reject(tmp_path / "raw.npz", "not a valid .npy")


def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path / "fake.npz").write_bytes(b"PK but not really a zip archive" * 10)
    reject(tmp_path / "fake.npz", "not a zip")


def test_npz_with_several_unnamed_arrays_lists_their_names(tmp_path):
    np.savez(tmp_path / "many.npz", weights=np.ones((2, 2)), bias=np.ones(2))
    reject(tmp_path / "many.npz", "'weights'", "'bias'", "'input'")


def test_npz_without_arrays(tmp_path):
    with zipfile.ZipFile(tmp_path / "none.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    reject(tmp_path / "none.npz", "no arrays")


def test_npz_member_declaring_enormous_shape(tmp_path):
    npy_header_only(tmp_path / "member.npy", (100_000, 100_000, 3))
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(tmp_path / "member.npy", "x.npy")
    reject(tmp_path / "bomb.npz", "too large")


def test_npz_with_truncated_member(tmp_path):
    npy_header_only(tmp_path / "member.npy", (10, 10, 3))
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as archive:
        archive.write(tmp_path / "member.npy", "x.npy")
    reject(tmp_path / "short.npz", "truncated or corrupt")


def test_npy_header_declaring_enormous_shape_is_refused_without_allocating(tmp_path):
    npy_header_only(tmp_path / "huge.npy", (100_000, 100_000, 3))
    # Refused from the header alone: nothing near the array's 240 GB is allocated.
    reject(tmp_path / "huge.npy", "too large", "100000×100000", limit=1_000_000)


def test_npy_shorter_than_its_header_says(tmp_path):
    npy_header_only(tmp_path / "short.npy", (100, 100, 3))
    reject(tmp_path / "short.npy", "truncated")


@pytest.mark.parametrize(
    "content",
    [
        b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f8', 'fortran_or     \n",
        b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 200,
        b"not a numpy file at all, just words" * 3,
    ],
)
def test_corrupt_npy_header(tmp_path, content):
    (tmp_path / "bad.npy").write_bytes(content)
    reject(tmp_path / "bad.npy", "not a valid .npy")


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.zeros(5), ("1 dimension ", "(H, W)")),
        (np.zeros((2, 3, 4, 5, 6)), ("5 dimensions",)),
        (np.zeros((0, 5)), ("empty", "(0, 5)")),
        (np.zeros((4, 0, 3)), ("empty",)),
        (np.zeros((32, 32, MAX_CHANNELS + 4)), ("20 channels", "at most 16")),
        (np.zeros((3, 8, 8, 1)), ("batch of 3",)),
        (np.zeros((4, 4), dtype=np.complex64), ("complex",)),
        (np.zeros((4, 4), dtype=[("r", "f4"), ("g", "f4")]), ("structured",)),
        (np.array([["a", "b"], ["c", "d"]]), ("not numbers",)),
        (np.zeros((4, 4), dtype="datetime64[s]"), ("not numbers",)),
    ],
)
def test_unusable_arrays(tmp_path, array, words):
    np.save(tmp_path / "data.npy", array)
    reject(tmp_path / "data.npy", *words)
    with pytest.raises(InputError) as info:
        validate_input_array(array, name="session input")
    assert str(info.value).startswith("session input: ")


def test_nan_and_infinity_report_how_many_and_where(tmp_path):
    a = np.zeros((4, 6, 2))
    a[2, 5, 1] = np.nan
    a[3, 0, 0] = np.inf
    a[3, 1, 0] = 1e300  # finite, but not as float32
    np.save(tmp_path / "holes.npy", a)
    reject(tmp_path / "holes.npy", "3 values are not finite numbers", "row 2, column 5, channel 1")


# --- legal arrays -------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0, 200], [255, 7]], dtype=np.uint8), [[0.0, 200.0], [255.0, 7.0]]),
        (np.array([[-3, 70000]], dtype=np.int64), [[-3.0, 70000.0]]),
        (np.array([[True, False]]), [[1.0, 0.0]]),
        (np.array([[0.5, -1.25]], dtype=np.float16), [[0.5, -1.25]]),
        (np.array([[1.5, 2.5]], dtype=">f8"), [[1.5, 2.5]]),
    ],
)
def test_numbers_keep_their_value(tmp_path, array, expected):
    np.save(tmp_path / "a.npy", array)
    loaded = read_input(tmp_path / "a.npy")
    assert loaded.array.dtype == np.float32 and loaded.array.flags.c_contiguous
    np.testing.assert_array_equal(loaded.array[:, :, 0], expected)
    assert loaded.channel_names == ("ch 1",)


def test_channels_last_array(tmp_path):
    a = np.random.default_rng(0).random((5, 7, 3))
    np.save(tmp_path / "hwc.npy", a)
    loaded = read_input(tmp_path / "hwc.npy")
    np.testing.assert_allclose(loaded.array, a, rtol=1e-6)
    assert loaded.channel_names == ("ch 1", "ch 2", "ch 3")
    assert loaded.original_shape == (5, 7, 3)


@pytest.mark.parametrize(
    ("stored", "to_hwc"),
    [
        ((3, 20, 30), lambda a: a.transpose(1, 2, 0)),  # (C, H, W): last axis can't be channels
        ((4, 5, 3), lambda a: a),  # ambiguous: read as (H, W, C)
        ((1, 6, 5, 2), lambda a: a[0]),  # batch of one
        ((1, 3, 17, 18), lambda a: a[0].transpose(1, 2, 0)),  # PyTorch (N, C, H, W)
        ((1, 20, 30), lambda a: a.transpose(1, 2, 0)),  # one channel first
    ],
)
def test_layouts(tmp_path, stored, to_hwc):
    a = np.arange(np.prod(stored), dtype=np.float64).reshape(stored)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(load_input(tmp_path / "a.npy"), to_hwc(a))


@pytest.mark.parametrize(
    ("stored", "to_hwc", "notice"),
    [
        (
            (3, 20, 20),
            lambda a: a.transpose(1, 2, 0),
            "Read shape (3, 20, 20) as channels-first (C, H, W): 3 channels, 20 pixels wide and "
            "20 high, since 20 channels on the last axis would be more than the 16 convviz "
            "handles.",
        ),
        (
            (10, 10, 40),
            lambda a: a.transpose(1, 2, 0),
            "Read shape (10, 10, 40) as channels-first (C, H, W): 10 channels, 40 pixels wide "
            "and 10 high, since 40 channels on the last axis would be more than the 16 convviz "
            "handles.",
        ),
        (
            (1, 20, 30),
            lambda a: a.transpose(1, 2, 0),
            "Read shape (1, 20, 30) as channels-first (C, H, W): 1 channel, 30 pixels wide and "
            "20 high, since 30 channels on the last axis would be more than the 16 convviz "
            "handles.",
        ),
        (
            (1, 3, 17, 18),
            lambda a: a[0].transpose(1, 2, 0),
            "Read shape (1, 3, 17, 18) as channels-first (N, C, H, W) with N = 1: 3 channels, "
            "18 pixels wide and 17 high, since 18 channels on the last axis would be more than "
            "the 16 convviz handles.",
        ),
    ],
)
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_channels_first_array_is_transposed_and_the_notice_says_so(
    tmp_path, stored, to_hwc, notice, suffix
):
    a = np.random.default_rng(4).random(stored)
    path = tmp_path / f"chw{suffix}"
    if suffix == ".npy":
        np.save(path, a)
    else:
        np.savez(path, x=a)
    loaded = read_input(path)
    expected = to_hwc(a)
    assert loaded.array.shape == expected.shape
    np.testing.assert_allclose(loaded.array, expected, rtol=1e-6)
    assert loaded.original_shape == expected.shape and not loaded.downscaled
    assert loaded.channel_names == tuple(f"ch {i + 1}" for i in range(expected.shape[2]))
    assert loaded.notice == notice


@pytest.mark.parametrize(
    "stored",
    [(4, 5, 3), (3, 20, 16), (40, 30, 2), (1, 6, 5, 2), (7, 9), (MAX_CHANNELS, 20, MAX_CHANNELS)],
)
def test_last_axis_that_can_be_channels_is_read_as_hwc_without_a_notice(tmp_path, stored):
    a = np.random.default_rng(5).random(stored)
    np.save(tmp_path / "hwc.npy", a)
    loaded = read_input(tmp_path / "hwc.npy")
    expected = a[0] if len(stored) == 4 else a.reshape(stored[0], stored[1], -1)
    assert loaded.array.shape == expected.shape
    np.testing.assert_allclose(loaded.array, expected, rtol=1e-6)
    assert loaded.notice is None


def test_channels_first_notice_comes_before_the_downscaling_one(tmp_path):
    a = np.random.default_rng(6).random((2, 30, 40))
    np.save(tmp_path / "big_chw.npy", a)
    loaded = read_input(tmp_path / "big_chw.npy", max_side=4)
    assert loaded.array.shape == (3, 4, 2)
    assert loaded.downscaled and loaded.original_shape == (30, 40, 2)
    assert loaded.notice == (
        "Read shape (2, 30, 40) as channels-first (C, H, W): 2 channels, 40 pixels wide and 30 "
        "high, since 40 channels on the last axis would be more than the 16 convviz handles. "
        "Downscaled from 40×30 to 4×3 so the view stays live."
    )
    np.testing.assert_allclose(
        loaded.array, area_average_by_hand(a.transpose(1, 2, 0), 3, 4), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("stored", "example"),
    [
        ((20, 20, 40), "(20, 20, 16)"),
        ((1, 20, 30, 40), "(20, 30, 16)"),
        ((MAX_CHANNELS + 1, 5, MAX_CHANNELS + 1), "(17, 5, 16)"),
    ],
)
def test_too_many_channels_on_both_ends_is_refused_saying_what_is_accepted(
    tmp_path, stored, example
):
    np.save(tmp_path / "wide.npy", np.zeros(stored))
    first, last = stored[-3], stored[-1]
    message = reject(
        tmp_path / "wide.npy",
        f"shape {stored}",
        f"read as (H, W, C) it would have {last} channels and read as (C, H, W) {first}",
        "at most 16",
        "(H, W, C) or (C, H, W) with C at most 16",
        f"e.g. shape {example}",
    )
    assert message.startswith("wide.npy: ")
    with pytest.raises(InputError, match=r"^session input: .*at most 16"):
        validate_input_array(np.zeros(stored), name="session input")


def test_fortran_ordered_npy(tmp_path):
    a = np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))
    np.save(tmp_path / "f.npy", a)
    result = load_input(tmp_path / "f.npy")
    np.testing.assert_array_equal(result, a)
    assert result.flags.c_contiguous


def test_one_by_one_array(tmp_path):
    np.save(tmp_path / "dot.npy", np.array([[0.25]]))
    assert load_input(tmp_path / "dot.npy").tolist() == [[[0.25]]]


@pytest.mark.parametrize(
    ("arrays", "chosen"),
    [({"whatever": 1}, "whatever"), ({"input": 2, "other": 3}, "input"), ({"x": 4, "y": 5}, "x")],
)
def test_npz_array_choice(tmp_path, arrays, chosen):
    stored = {name: np.full((2, 2), value, dtype=np.int16) for name, value in arrays.items()}
    np.savez_compressed(tmp_path / "set.npz", **stored)
    np.testing.assert_array_equal(load_input(tmp_path / "set.npz")[:, :, 0], stored[chosen])


# --- downscaling --------------------------------------------------------------


def test_array_downscaled_to_area_averages(tmp_path):
    a = np.random.default_rng(1).random((7, 10, 2))
    np.save(tmp_path / "a.npy", a)
    loaded = read_input(tmp_path / "a.npy", max_side=4)
    assert loaded.array.shape == (3, 4, 2)  # 7 × 4/10 = 2.8 rows, rounded
    assert loaded.downscaled and loaded.original_shape == (7, 10, 2)
    assert loaded.notice == "Downscaled from 10×7 to 4×3 so the view stays live."
    np.testing.assert_allclose(loaded.array, area_average_by_hand(a, 3, 4), rtol=1e-5)


def test_downscaling_a_big_npy_reads_it_block_by_block(tmp_path):
    a = np.random.default_rng(3).random((1500, 1500, 3))  # 54 MB on disk
    np.save(tmp_path / "big.npy", a)
    tracemalloc.start()
    try:
        loaded = read_input(tmp_path / "big.npy", max_side=50)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < a.nbytes / 3
    np.testing.assert_allclose(
        loaded.array, a.reshape(50, 30, 50, 30, 3).mean(axis=(1, 3)), rtol=1e-5
    )


def test_no_downscaling_when_small_enough(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((8, 8, 1)))
    loaded = read_input(tmp_path / "a.npy", max_side=8)
    assert loaded.array.shape == (8, 8, 1) and not loaded.downscaled and loaded.notice is None
    assert load_input(tmp_path / "a.npy").shape == (8, 8, 1)  # load_input: no limit by default


def test_max_side_must_be_positive(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((2, 2)))
    with pytest.raises(ValueError, match="max_side"):
        load_input(tmp_path / "a.npy", max_side=0)


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 16),
    w=st.integers(1, 16),
    c=st.integers(1, 2),
    max_side=st.integers(1, 16),
    seed=st.integers(0, 2**16),
)
def test_downscaling_matches_hand_loop(tmp_path_factory, h, w, c, max_side, seed):
    a = np.random.default_rng(seed).integers(0, 1000, (h, w, c)).astype(np.int32)
    path = tmp_path_factory.mktemp("down") / "a.npy"
    np.save(path, a)
    loaded = read_input(path, max_side=max_side)
    if max(h, w) <= max_side:
        np.testing.assert_array_equal(loaded.array, a)
        return
    longest = max(h, w)
    # Aspect kept: each side scaled by max_side / longest, rounded half up.
    out_h = max(1, math.floor(Fraction(h * max_side, longest) + Fraction(1, 2)))
    out_w = max(1, math.floor(Fraction(w * max_side, longest) + Fraction(1, 2)))
    assert loaded.array.shape == (out_h, out_w, c)
    assert loaded.notice == f"Downscaled from {w}×{h} to {out_w}×{out_h} so the view stays live."
    np.testing.assert_allclose(loaded.array, area_average_by_hand(a, out_h, out_w), rtol=1e-5)


# --- validate_input_array and save_array --------------------------------------


def test_validate_returns_float32_hwc_and_reuses_a_ready_array():
    ready = np.zeros((4, 5, 2), dtype=np.float32)
    assert validate_input_array(ready) is ready
    grey = validate_input_array(np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert grey.shape == (2, 3, 1) and grey.dtype == np.float32 and grey[1, 2, 0] == 5.0


def test_validate_reports_nan_with_the_given_name():
    a = np.ones((3, 3))
    a[1, 2] = np.nan
    with pytest.raises(InputError, match=r"^drawing: 1 value is not a finite.*row 1, column 2"):
        validate_input_array(a, name="drawing")


def test_save_array_round_trip_atomically(tmp_path):
    a = np.random.default_rng(2).random((5, 6, 3)).astype(np.float32)
    (tmp_path / "saved.npy").write_bytes(b"old content")
    written = save_array(tmp_path / "saved.npy", a)
    assert written == tmp_path / "saved.npy"
    np.testing.assert_array_equal(load_input(written), a)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved.npy"]  # no temp file left


def test_save_array_adds_the_suffix_and_stores_hwc_float32(tmp_path):
    written = save_array(tmp_path / "drawing", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert written.name == "drawing.npy"
    stored = np.load(written)
    assert stored.dtype == np.float32 and stored.shape == (2, 3, 1)


def test_save_array_refuses_unusable_arrays_without_leaving_files(tmp_path):
    with pytest.raises(InputError, match="complex"):
        save_array(tmp_path / "bad.npy", np.zeros((2, 2), dtype=complex))
    assert list(tmp_path.iterdir()) == []


def test_a_float64_npz_is_converted_a_chunk_at_a_time(tmp_path):
    """The stored float64 array is never held whole: the peak stays near the float32 result."""

    h, w, c = 1024, 1024, 4  # 32 MiB as float64, a small file (it compresses)
    values = np.zeros((h, w, c))
    values[::7, ::5] = np.linspace(-3, 3, c)
    values[5, 6, 1] = 1e-3
    path = tmp_path / "big64.npz"
    np.savez_compressed(path, input=values)
    tracemalloc.start()
    try:
        loaded = load_input(path, max_side=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(loaded, values.astype(np.float32))
    result = h * w * c * 4
    # Whole-array conversion holds float64 and float32 at once (3x); chunks hold ~1.5x.
    assert peak < 1.7 * result, peak / result


def test_a_fortran_order_npz_reads_in_the_right_order(tmp_path):
    values = np.asfortranarray(np.arange(5 * 6 * 2, dtype=np.float64).reshape(5, 6, 2))
    path = tmp_path / "fortran.npz"
    np.savez(path, input=values)
    np.testing.assert_array_equal(load_input(path, max_side=None), values.astype(np.float32))


def test_an_input_whose_layer_exceeds_the_budget_is_refused_before_it_is_read(tmp_path):
    """A raised --max-side must not let a 0.5 GiB input in: refused with the size that fits."""
    from convviz.core.model import LayerSettings

    path = tmp_path / "huge.npy"
    sparse_npy(path, (3000, 3000, 16))
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            read_input(path, max_side=8192, settings=LayerSettings())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    text = str(info.value)
    assert text.startswith("huge.npy: ") and "budget of 1.0 GiB" in text
    side = int(text.split("at most ")[1].split(" pixels")[0])
    assert 256 <= side < 3000
    assert peak < 64 << 20  # nothing of the gigabyte was converted
    # The side the message names does fit.
    assert read_input(path, max_side=side, settings=LayerSettings()).array.shape[2] == 16
