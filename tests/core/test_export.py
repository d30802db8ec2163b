"""The .npy exports: exact round trips, Keras layouts, atomic writes, no Qt."""

import subprocess
import sys

import numpy as np
import pytest

from convviz.core.model import LayerSettings, default_document
from convviz.io import export
from convviz.io.inputs import load_input


def slow_layer(x, kernel, bias, relu=True):
    """Valid, stride-1 cross-correlation written as plain loops: kernel maps and outputs."""
    h, w, c = x.shape
    kh, kw, _, filters = kernel.shape
    ho, wo = h - kh + 1, w - kw + 1
    maps = np.zeros((ho, wo, c, filters))
    for f in range(filters):
        for k in range(c):
            for i in range(ho):
                for j in range(wo):
                    total = 0.0
                    for r in range(kh):
                        for s in range(kw):
                            total += float(x[i + r, j + s, k]) * float(kernel[r, s, k, f])
                    maps[i, j, k, f] = total
    pre = maps.sum(axis=2) + (0 if bias is None else np.asarray(bias, dtype=float))
    return maps, (np.maximum(pre, 0) if relu else pre)


def make_state(seed=0, shape=(7, 9, 3), filters=2, use_bias=True, selected=1):
    rng = np.random.default_rng(seed)
    doc = default_document(rng.random(shape).astype(np.float32))
    state = doc.snapshot()
    state["kernel"] = rng.normal(size=(3, 3, shape[2], filters)).astype(np.float32)
    state["bias"] = rng.normal(size=filters).astype(np.float32)
    state["settings"] = LayerSettings(filters=filters, use_bias=use_bias)
    state["selected_filter"] = selected
    return state


def test_input_round_trips_exactly_and_reopens_in_the_app(tmp_path):
    state = make_state()
    path = export.export_input(tmp_path / "input.npy", state)
    saved = np.load(path, allow_pickle=False)
    assert saved.dtype == np.float32
    np.testing.assert_array_equal(saved, state["input"])
    np.testing.assert_array_equal(load_input(path), state["input"])


@pytest.mark.parametrize("use_bias", [True, False])
def test_kernel_and_feature_maps_are_what_the_layer_computes(tmp_path, use_bias):
    state = make_state(use_bias=use_bias)
    maps, out = slow_layer(state["input"], state["kernel"], state["bias"] if use_bias else None)
    km = np.load(export.export_kernel_maps(tmp_path / "km", state))
    fm = np.load(export.export_feature_maps(tmp_path / "fm.npy", state))
    assert km.shape == (5, 7, 3)  # (H', W', C_in // groups) of filter 2
    assert fm.shape == (5, 7, 2)  # (H', W', filters)
    np.testing.assert_allclose(km, maps[..., 1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fm, out, rtol=1e-5, atol=1e-5)
    # The file holds exactly the arrays the app computes, bit for bit.
    np.testing.assert_array_equal(km, export.kernel_maps_array(state))
    np.testing.assert_array_equal(fm, export.feature_maps_array(state))
    assert (tmp_path / "km.npy").exists()


def test_grouped_layer_exports_the_groups_channels():
    state = make_state(shape=(6, 6, 4), filters=2)
    state["settings"] = LayerSettings(filters=2, groups=2)
    state["kernel"] = state["kernel"][:, :, :2]
    x, k, b = state["input"], state["kernel"], state["bias"]
    maps, _ = slow_layer(x[..., 2:], k[..., 1:], b[1:])  # filter 2 reads channels 3 and 4
    km = export.kernel_maps_array(state)
    assert km.shape == (4, 4, 2)
    np.testing.assert_allclose(km, maps[..., 0], rtol=1e-5, atol=1e-5)


def test_empty_output_is_a_clear_error(tmp_path):
    state = make_state(shape=(2, 2, 1))
    state["kernel"] = state["kernel"][:, :, :1]
    with pytest.raises(ValueError, match="empty"):
        export.export_feature_maps(tmp_path / "fm.npy", state)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "fm.npy"
    path.write_bytes(b"precious")

    def broken_save(f, *a, **k):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError):
        export.save_npy(path, np.zeros((2, 2, 1)))
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["fm.npy"]


def test_write_bytes_replaces_whole_files(tmp_path):
    path = export.write_bytes(tmp_path / "a.png", b"new")
    assert path.read_bytes() == b"new"
    assert export.with_suffix(tmp_path / "x.NPY", ".npy").name == "x.NPY"
    assert export.with_suffix(tmp_path / "x.png", ".npy").name == "x.png.npy"


def test_export_imports_without_qt():
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):
            raise ImportError('Qt imported: ' + name)
sys.meta_path.insert(0, Block())
import convviz.io.export
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
