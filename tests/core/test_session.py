"""Session files: round trips, refusal of every kind of bad file, atomic saves, upgrades."""

import dataclasses
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convviz.core.activations import ACTIVATIONS
from convviz.core.model import PADDING_MODES, LayerSettings
from convviz.io import session as session_mod
from convviz.io._session_fields import SETTING_PARSERS
from convviz.io.inputs import InputError
from convviz.io.session import load_session, save_session


def make_state(h=5, w=6, c=3, filters=2, kernel_size=(3, 3), groups=1, seed=0, **settings):
    rng = np.random.default_rng(seed)
    s = LayerSettings(kernel_size=kernel_size, filters=filters, groups=groups, **settings)
    return dict(
        input=rng.normal(size=(h, w, c)).astype(np.float32),
        kernel=rng.normal(size=(*kernel_size, c // groups, filters)).astype(np.float32),
        bias=rng.normal(size=filters).astype(np.float32),
        settings=s,
        channel_names=tuple(f"c{i}" for i in range(c)),
        selected_filter=filters - 1,
    )


def assert_same_state(a, b):
    for key in ("input", "kernel", "bias"):
        assert b[key].dtype == np.float32
        np.testing.assert_array_equal(a[key], b[key])
    assert a["settings"] == b["settings"]
    assert tuple(a["channel_names"]) == b["channel_names"]
    assert a["selected_filter"] == b["selected_filter"]


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=True)
    return buf.getvalue()


@pytest.fixture
def good(tmp_path):
    return save_session(tmp_path / "good.convviz", make_state(), view={"brush": 2}, lesson="hi")


def edited(good, tmp_path, edit_meta=None, **replace_members):
    """A copy of the good session with session.json edited and members replaced/removed."""
    files = members(good)
    meta = json.loads(files["session.json"])
    if edit_meta:
        edit_meta(meta)
    files["session.json"] = json.dumps(meta).encode()
    for name, data in replace_members.items():
        name = name.replace("_npy", ".npy")
        if data is None:
            files.pop(name)
        else:
            files[name] = data
    return write_zip(tmp_path / "bad.convviz", files)


def refused(path, *words):
    with pytest.raises(InputError) as info:
        load_session(path)
    message = str(info.value)
    assert message.startswith(Path(path).name), message
    for word in words:
        assert word in message, message
    return message


# -- round trips ---------------------------------------------------------------------------


@st.composite
def documents(draw):
    c = draw(st.integers(1, 4))
    groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if c % g == 0]))
    filters = groups * draw(st.integers(1, 3))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same", "full"]),
            st.tuples(*[st.integers(0, 3)] * 4),
        )
    )
    strides = (draw(st.integers(1, 16)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 16)))
    # Keras refuses strides > 1 with dilation > 1: one of them stays at 1.
    strides, dilation = ((1, 1), dilation) if draw(st.booleans()) else (strides, (1, 1))
    state = make_state(
        h=draw(st.integers(1, 7)),
        w=draw(st.integers(1, 7)),
        c=c,
        filters=filters,
        kernel_size=(draw(st.integers(1, 11)), draw(st.integers(1, 4))),
        groups=groups,
        seed=draw(st.integers(0, 1000)),
        strides=strides,
        padding=padding,
        dilation=dilation,
        activation=draw(st.sampled_from(ACTIVATIONS)),
        use_bias=draw(st.booleans()),
        padding_mode=draw(st.sampled_from(PADDING_MODES)),
        flip_kernel=draw(st.booleans()),
    )
    state["selected_filter"] = draw(st.integers(0, filters - 1))
    state["channel_names"] = tuple(draw(st.text(max_size=8)) for _ in range(c))
    return state


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    state=documents(),
    view=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    lesson=st.none() | st.text(max_size=200),
)
def test_round_trip_keeps_everything(tmp_path, state, view, lesson):
    path = save_session(tmp_path / "s.convviz", state, view=view, lesson=lesson)
    loaded = load_session(path)
    assert_same_state(state, loaded.state)
    assert loaded.view == view
    assert loaded.lesson == lesson
    assert loaded.version == session_mod.VERSION


def test_same_document_gives_the_same_bytes(tmp_path):
    a = save_session(tmp_path / "a.convviz", make_state())
    b = save_session(tmp_path / "b.convviz", make_state())
    assert a.read_bytes() == b.read_bytes()


def test_saving_streams_the_arrays_without_copying_them_whole(tmp_path):
    import tracemalloc

    state = make_state(c=8)
    rng = np.random.default_rng(0)
    state["input"] = rng.random((1024, 1024, 8), dtype=np.float32)  # 32 MiB, incompressible
    tracemalloc.start()
    try:
        path = save_session(tmp_path / "big.convviz", state)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # A chunk of the array and the compressor's buffers, not a copy (or two) of it.
    assert peak < 0.7 * state["input"].nbytes, peak / state["input"].nbytes
    np.testing.assert_array_equal(load_session(path).state["input"], state["input"])


def test_every_layer_setting_is_stored():
    assert set(SETTING_PARSERS) == {f.name for f in dataclasses.fields(LayerSettings)}


def test_the_file_is_plain_json_and_npy(good):
    files = members(good)
    assert set(files) == {"session.json", "input.npy", "kernel.npy", "bias.npy"}
    meta = json.loads(files["session.json"])
    assert meta["format"] == "convviz-session" and meta["version"] == 2
    assert meta["layers"] == [] and meta["shown"] == 0  # one layer
    assert meta["arrays"]["kernel"] == {
        "file": "kernel.npy",
        "shape": [3, 3, 3, 2],
        "dtype": "float32",
    }
    kernel = np.load(io.BytesIO(files["kernel.npy"]), allow_pickle=False)
    np.testing.assert_array_equal(kernel, make_state()["kernel"])


# -- refused files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, words",
    [
        (b"just some text\n", ["not a convviz session", "zip"]),
        (bytes(np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8)), ["zip"]),
        (b"", ["empty"]),
    ],
)
def test_not_a_zip(tmp_path, content, words):
    path = tmp_path / "x.convviz"
    path.write_bytes(content)
    refused(path, *words)


def test_missing_file_and_folder(tmp_path):
    refused(tmp_path / "nope.convviz", "no such file")
    (tmp_path / "dir.convviz").mkdir()
    refused(tmp_path / "dir.convviz", "this is a folder")


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.8, 0.95])
def test_truncated_zip(good, tmp_path, cut):
    data = good.read_bytes()
    path = tmp_path / "cut.convviz"
    path.write_bytes(data[: int(len(data) * cut)])
    refused(path)


def test_damaged_member(good, tmp_path):
    data = bytearray(good.read_bytes())
    start = data.find(b"input.npy") + 20  # inside the deflated data of that member
    data[start : start + 8] = b"\xff" * 8
    path = tmp_path / "damaged.convviz"
    path.write_bytes(bytes(data))
    refused(path)


def test_zip_without_session_json(tmp_path):
    refused(write_zip(tmp_path / "z.convviz", {"a.txt": b"x"}), "session.json")


@pytest.mark.parametrize(
    "text, words",
    [
        (b"{not json", ["not valid JSON"]),
        (b"\xff\xfe\x00", ["not valid JSON"]),
        (b"[1, 2]", ["JSON object"]),
        (b"[" * 100000, ["JSON"]),
        (json.dumps({"format": "something-else", "version": 1}).encode(), ["not a convviz"]),
        (json.dumps({"format": "convviz-session"}).encode(), ["version"]),
        (json.dumps({"format": "convviz-session", "version": "1"}).encode(), ["whole number"]),
        (json.dumps({"format": "convviz-session", "version": 0}).encode(), ["unknown", "0"]),
        (
            json.dumps({"format": "convviz-session", "version": 3}).encode(),
            ["made by a newer convviz (format 3); this version reads up to 2"],
        ),
    ],
)
def test_bad_description(good, tmp_path, text, words):
    files = members(good)
    files["session.json"] = text
    refused(write_zip(tmp_path / "bad.convviz", files), *words)


def _drop(*keys):
    def edit(meta):
        target = meta
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]

    return edit


def _set(value, *keys):
    def edit(meta):
        target = meta
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    "edit, words",
    [
        (_drop("settings"), ["lacks", "settings"]),
        (_drop("lesson"), ["lacks", "lesson"]),
        (_drop("settings", "groups"), ["lacks", "groups"]),
        (_set(1, "surprise"), ["unknown field", "surprise"]),
        (_set(1, "settings", "colour"), ["unknown field", "colour"]),
        (_set("two", "settings", "filters"), ["filters", "whole number", "'two'"]),
        (_set(2.0, "settings", "filters"), ["filters", "whole number"]),
        (_set(True, "settings", "filters"), ["filters", "whole number"]),
        (_set(17, "settings", "filters"), ["filters", "17", "1 to 16"]),
        (_set([0, 3], "settings", "kernel_size"), ["kernel_size", "0"]),
        (_set([12, 3], "settings", "kernel_size"), ["kernel_size", "12", "1 to 11"]),
        (_set([3], "settings", "kernel_size"), ["kernel_size", "list of 2"]),
        (_set([0, 1], "settings", "strides"), ["strides", "0"]),
        (_set([1, 0], "settings", "dilation"), ["dilation", "0"]),
        (
            lambda meta: meta["settings"].update(strides=[2, 1], dilation=[1, 2]),
            ["strides > 1", "dilation_rate > 1", "Keras refuses"],
        ),
        (_set("reflect", "settings", "padding"), ["padding", "'reflect'"]),
        (_set([1, 2, 3], "settings", "padding"), ["padding", "list of 4"]),
        (_set([1, 2, 3, -1], "settings", "padding"), ["padding", "-1"]),
        (_set("gelu", "settings", "activation"), ["activation", "'gelu'"]),
        (_set("mirror", "settings", "padding_mode"), ["padding_mode", "'mirror'"]),
        (_set("yes", "settings", "use_bias"), ["use_bias", "true or false"]),
        (_set(0, "settings", "flip_kernel"), ["flip_kernel", "true or false"]),
        (_set(2, "settings", "groups"), ["groups=2", "divide"]),
        (_set(4, "settings", "filters"), ["kernel tensor", "(3, 3, 3, 4)"]),
        (_set(5, "selected_filter"), ["selected_filter", "5"]),
        (_set(-1, "selected_filter"), ["selected_filter"]),
        (_set(["R", "G"], "channel_names"), ["2 channel names", "3 channels"]),
        (_set(["R", "G", 7], "channel_names"), ["channel name"]),
        (_set("R", "channel_names"), ["channel_names"]),
        (_set([], "view"), ["view", "JSON object"]),
        (_set(5, "lesson"), ["lesson", "text"]),
        (_set("x" * 20001, "lesson"), ["lesson", "20,000"]),
        (_set([5, 6, 3], "arrays", "kernel", "shape"), ["kernel tensor", "(5, 6, 3)"]),
        (_set([3], "arrays", "bias", "shape"), ["bias", "(2,)"]),
        (_set([5, 6], "arrays", "input", "shape"), ["(H, W, C)"]),
        (_set([5, 6, 17], "arrays", "input", "shape"), ["17 channels"]),
        (_set([100000, 100000, 3], "arrays", "input", "shape"), ["too large"]),
        (_set("float64", "arrays", "input", "dtype"), ["float32", "float64"]),
        (_set("bias.npy", "arrays", "kernel", "file"), ["share"]),
        (_set({"file": "input.npy"}, "arrays", "input"), ["lacks", "shape"]),
        (_drop("arrays", "bias"), ["lacks", "bias"]),
    ],
)
def test_bad_fields(good, tmp_path, edit, words):
    refused(edited(good, tmp_path, edit), *words)


def test_member_shape_must_match_description(good, tmp_path):
    path = edited(good, tmp_path, input_npy=npy(np.zeros((5, 7, 3), np.float32)))
    refused(path, "(input)", "(5, 7, 3)")


@pytest.mark.parametrize(
    "array, words",
    [
        (np.zeros((3, 3, 3, 2)), ["float64", "not float32"]),
        (np.full((3, 3, 3, 2), None, dtype=object), ["Python objects"]),
        (np.zeros((3, 3, 3, 2), dtype=np.int32), ["int32"]),
    ],
)
def test_member_dtype(good, tmp_path, array, words):
    refused(edited(good, tmp_path, kernel_npy=npy(array)), "(kernel)", *words)


def test_big_endian_float32_is_read(good, tmp_path):
    kernel = make_state()["kernel"].astype(">f4")
    loaded = load_session(edited(good, tmp_path, kernel_npy=npy(kernel)))
    np.testing.assert_array_equal(loaded.state["kernel"], kernel)


@pytest.mark.parametrize("name", ["input", "kernel", "bias"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(good, tmp_path, name, bad):
    a = make_state()[name].copy()
    a.flat[-1] = bad
    refused(edited(good, tmp_path, **{f"{name}_npy": npy(a)}), name, "finite")


def test_missing_and_extra_members(good, tmp_path):
    refused(edited(good, tmp_path, bias_npy=None), "bias", "missing")
    refused(edited(good, tmp_path, **{"evil.py": b"print(1)"}), "unexpected", "evil.py")


def test_not_an_npy_member(good, tmp_path):
    refused(edited(good, tmp_path, bias_npy=b"\x93NUMPY garbage"), "(bias)", "not a valid .npy")


def test_truncated_npy_member(good, tmp_path):
    data = members(good)["input.npy"]
    refused(edited(good, tmp_path, input_npy=data[:-10]), "(input)", "truncated")


def test_zip_bomb_member_is_refused_before_reading(good, tmp_path):
    # 50 MB of zeros deflates to ~50 kB; the declared (5, 6, 3) input needs 360 bytes.
    header = members(good)["input.npy"][:128]
    path = edited(good, tmp_path, input_npy=header + bytes(50_000_000))
    assert path.stat().st_size < 1_000_000
    refused(path, "(input)", "far more")


def test_huge_description_is_refused(good, tmp_path):
    files = members(good)
    files["session.json"] = b" " * 2_000_000 + files["session.json"]
    refused(write_zip(tmp_path / "big.convviz", files), "session.json", "bytes")


# -- saving ---------------------------------------------------------------------------------


def test_crash_while_saving_keeps_the_old_file(good, tmp_path, monkeypatch):
    before = good.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(session_mod, "_write_npy", explode)  # fails mid-write
    with pytest.raises(OSError, match="disk full"):
        save_session(good, make_state(seed=9))
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.convviz"]


def test_inconsistent_state_is_not_saved(tmp_path):
    state = make_state()
    state["bias"] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="bias"):
        save_session(tmp_path / "s.convviz", state)
    state = make_state()
    with pytest.raises(ValueError, match="view"):
        save_session(tmp_path / "s.convviz", state, view={"f": object()})
    state = make_state(strides=(40, 1))
    with pytest.raises(ValueError, match="strides"):
        save_session(tmp_path / "s.convviz", state)
    assert list(tmp_path.iterdir()) == []


# -- versions -------------------------------------------------------------------------------


def version_one(good, tmp_path):
    """``good`` as version 1 wrote it: one layer, no layers or shown fields."""

    def edit(meta):
        meta["version"] = 1
        del meta["layers"], meta["shown"]

    return edited(good, tmp_path, edit)


def test_a_version_one_file_opens_as_one_layer(good, tmp_path):
    loaded = load_session(version_one(good, tmp_path))
    assert loaded.version == 1
    assert loaded.state["layers"] == () and loaded.state["shown"] == 0
    assert_same_state(make_state(), loaded.state)


def test_older_versions_are_upgraded_step_by_step(good, tmp_path, monkeypatch):
    # Pretend the format moved on to version 3, renaming 'lesson' to 'notes' in version 2
    # and adding 'notes_format' in version 3: a version-1 file must still open.
    calls = []

    def one_to_two(meta):
        calls.append(1)
        meta = dict(meta, version=2, layers=[], shown=0, notes=meta.pop("lesson"))
        return meta

    def two_to_three(meta):
        calls.append(2)
        return dict(meta, version=3, lesson=meta.pop("notes") + " (upgraded)")

    monkeypatch.setattr(session_mod, "VERSION", 3)
    monkeypatch.setattr(session_mod, "_UPGRADES", {1: one_to_two, 2: two_to_three})
    loaded = load_session(version_one(good, tmp_path))
    assert calls == [1, 2]
    assert loaded.version == 1
    assert loaded.lesson == "hi (upgraded)"
    assert_same_state(make_state(), loaded.state)


def test_sessions_and_lessons_need_no_qt():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import convviz.io.session, convviz.io.atomic, convviz.core.lessons\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("where", ["missing folder", "read-only folder"])
def test_a_failed_save_names_the_target_not_the_temporary_file(tmp_path, where):
    import os

    folder = tmp_path / "missing" if where == "missing folder" else tmp_path / "ro"
    if where == "read-only folder":
        folder.mkdir()
        folder.chmod(0o500)
        if os.access(folder, os.W_OK):  # root writes anywhere
            pytest.skip("this user can write into a read-only folder")
    target = folder / "lesson.convviz"
    try:
        with pytest.raises(OSError) as caught:
            save_session(target, make_state())
    finally:
        if folder.exists():
            folder.chmod(0o700)
    assert caught.value.filename == str(target)
    assert ".tmp" not in str(caught.value) and str(target) in str(caught.value)
