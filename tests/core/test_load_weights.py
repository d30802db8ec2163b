"""load_weights on files written by Keras, PyTorch and safetensors themselves
(tests/fixtures/make_weight_fixtures.py): the kernels read compute what the library
computed, and every malformed file is an InputError naming it."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convviz
from convviz import InputError, conv2d, load_weights, save_weights
from convviz.core.model import LayerSettings
from convviz.io import weight_layers
from convviz.io.model_weights import ConvLayer, PoolLayer, is_weights_file
from convviz.io.weights import export_weights

pytest.importorskip("h5py")
pytest.importorskip("safetensors")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "weights"
EXPECTED = dict(np.load(FIXTURES / "expected.npz", allow_pickle=False))
TORCH_SETTINGS = json.loads(str(EXPECTED["torch/settings"]))
TORCH_FILES = ("torch_state_dict.pt", "torch_checkpoint.pth", "torch_state_dict.safetensors")


def assert_computes_expected(layer, key, **settings):
    x, y = EXPECTED[f"{key}/x"], EXPECTED[f"{key}/y"]
    got = conv2d(
        x,
        layer.kernel,
        layer.bias,
        strides=settings.get("strides", layer.strides),
        padding=settings.get("padding", layer.padding),
        dilation_rate=settings.get("dilation", layer.dilation),
        groups=settings.get("groups", layer.groups or 1),
        activation=settings.get("activation", layer.activation),
    )
    assert got.feature_maps.shape == y.shape
    np.testing.assert_allclose(got.feature_maps, y, rtol=1e-5, atol=1e-6)


def test_keras_archive_lists_conv_and_pooling_layers_with_their_settings():
    weights = load_weights(FIXTURES / "keras_sequential.keras")
    assert isinstance(weights, convviz.ModelWeights)
    assert [layer.name for layer in weights] == ["edges", "grouped", "depthwise"]
    assert [type(layer) for layer in weights.layers] == [
        ConvLayer,
        PoolLayer,
        ConvLayer,
        ConvLayer,
    ]
    edges, grouped, depthwise = weights
    assert (edges.strides, edges.padding, edges.activation) == ((2, 2), "same", "relu")
    assert edges.kernel.shape == (3, 3, 3, 4) and edges.bias.shape == (4,)
    assert (grouped.groups, grouped.bias, grouped.activation) == (2, None, "tanh")
    assert grouped.kernel.shape == (3, 2, 2, 6) and grouped.in_channels == 4
    # DepthwiseConv2D(2, depth_multiplier=2) on 6 channels is Conv2D(12, groups=6).
    assert depthwise.kernel.shape == (2, 2, 1, 12) and depthwise.groups == 6
    assert weights.layers[1] == PoolLayer("pool", "MaxPooling2D", (2, 2), (2, 2), "valid")
    assert not edges.kernel.flags.writeable


@pytest.mark.parametrize("name", ["keras_sequential.keras", "keras_sequential.h5"])
def test_keras_kernels_compute_what_keras_computed(name):
    for layer in load_weights(FIXTURES / name):
        assert_computes_expected(layer, f"keras_sequential/{layer.name}")


def test_nested_functional_model_with_dilation():
    weights = load_weights(FIXTURES / "keras_functional.keras")
    assert [layer.name for layer in weights] == ["inner", "dilated"]
    assert weights[1].dilation == (2, 2) and weights[1].activation == "elu"
    assert weights.layers[-1].kind == "AveragePooling2D"
    for layer in weights:
        assert_computes_expected(layer, f"keras_functional/{layer.name}")


def test_legacy_h5_and_weights_h5_hold_the_same_kernels_as_the_archive():
    archive = load_weights(FIXTURES / "keras_sequential.keras")
    legacy = load_weights(FIXTURES / "keras_sequential.h5")
    bare = load_weights(FIXTURES / "keras_sequential.weights.h5")
    assert [layer.name for layer in legacy] == [layer.name for layer in archive]
    assert len(bare) == 3 and bare[0].strides is None and bare[0].activation is None
    assert "weights only" in bare.notes[0]
    for a, b, c in zip(archive, legacy, bare, strict=True):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.kernel, c.kernel)
        assert (a.strides, a.padding, a.groups) == (b.strides, b.padding, b.groups)
    # Without the configuration the settings come from what the test knows.
    assert_computes_expected(
        bare[0], "keras_sequential/edges", strides=2, padding="same", dilation=1, activation="relu"
    )


@pytest.mark.parametrize("name", TORCH_FILES)
def test_pytorch_state_dicts_in_module_order_compute_what_torch_computed(name):
    if name.endswith((".pt", ".pth")):
        pytest.importorskip("torch")
    weights = load_weights(FIXTURES / name)
    # features.10 comes after features.3, as in the model, not as text sorts.
    assert [layer.name for layer in weights] == list(TORCH_SETTINGS)
    assert weights[1].bias is None and weights[0].strides is None
    assert weights[1].kernel.shape == (3, 2, 2, 6)  # from (6, 2, 3, 2)
    assert "state dict" in weights.notes[0]
    for layer in weights:
        s = TORCH_SETTINGS[layer.name]
        assert_computes_expected(
            layer,
            f"torch/{layer.name}",
            strides=tuple(s["strides"]),
            padding=tuple(s["padding"]),
            groups=s["groups"],
            dilation=1,
            activation="linear",
        )


def test_a_pickled_whole_model_is_refused():
    pytest.importorskip("torch")
    with pytest.raises(InputError, match=r"torch_whole_model\.pt: .*pickled.*state_dict"):
        load_weights(FIXTURES / "torch_whole_model.pt")


def torch_message(monkeypatch, path):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(InputError, match="model.pt: reading PyTorch files needs PyTorch") as err:
        load_weights(path)
    monkeypatch.undo()
    return str(err.value)


def test_without_torch_the_message_says_how_to_convert(monkeypatch, tmp_path):
    shutil.copy(FIXTURES / "torch_state_dict.pt", tmp_path / "model.pt")
    command = torch_message(monkeypatch, tmp_path / "model.pt").splitlines()[-1]
    assert command.startswith('python -c "import torch; from safetensors.torch import')
    assert "torch.load('model.pt', weights_only=True)" in command
    assert command.endswith("'model.safetensors')\"")


def test_the_conversion_in_the_message_works(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    shutil.copy(FIXTURES / "torch_state_dict.pt", tmp_path / "model.pt")
    command = torch_message(monkeypatch, tmp_path / "model.pt").splitlines()[-1]
    python = command.replace("python", sys.executable, 1)
    subprocess.run(python, shell=True, cwd=tmp_path, check=True)
    converted = load_weights(tmp_path / "model.safetensors")
    for a, b in zip(converted, load_weights(FIXTURES / "torch_state_dict.pt"), strict=True):
        np.testing.assert_array_equal(a.kernel, b.kernel)


@pytest.mark.parametrize(
    ("blocked", "name"),
    [
        ("h5py", "keras_sequential.keras"),
        ("h5py", "keras_sequential.h5"),
        ("safetensors", "torch_state_dict.safetensors"),
    ],
)
def test_a_missing_package_names_the_extra_to_install(monkeypatch, blocked, name):
    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(InputError, match=rf'{name}: .*pip install "convviz\[models\]"'):
        load_weights(FIXTURES / name)


def test_convviz_weights_round_trip_with_every_setting(tmp_path):
    original = load_weights(FIXTURES / "keras_sequential.keras")
    path = save_weights(tmp_path / "copy", original.layers, extra={"head": np.ones(3)})
    assert path.name == "copy.npz"
    again = load_weights(path)
    assert [type(x) for x in again.layers] == [type(x) for x in original.layers]
    assert again.layers[1] == original.layers[1]
    for a, b in zip(original, again, strict=True):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        assert (a.bias is None) == (b.bias is None)
        for key in ("name", "strides", "padding", "dilation", "groups", "activation"):
            assert getattr(a, key) == getattr(b, key)
    # numpy alone reads it, without pickle; the same weights give the same bytes.
    with np.load(path, allow_pickle=False) as plain:
        np.testing.assert_array_equal(plain["extra.head"], np.ones(3))
    assert (
        save_weights(
            tmp_path / "twice.npz", original.layers, extra={"head": np.ones(3)}
        ).read_bytes()
        == path.read_bytes()
    )


def test_convviz_weights_npz_with_explicit_padding(tmp_path):
    kernel = np.arange(2 * 3 * 1 * 2, dtype=np.float32).reshape(2, 3, 1, 2)
    layer = ConvLayer(
        "c",
        kernel,
        None,
        strides=(1, 2),
        padding=(1, 0, 2, 1),
        dilation=(1, 1),
        groups=1,
        activation=None,
        padding_mode="reflect",
    )
    again = load_weights(save_weights(tmp_path / "w.npz", [layer]))[0]
    assert again.padding == (1, 0, 2, 1) and again.padding_mode == "reflect"
    assert again.activation is None and again.strides == (1, 2)


@pytest.mark.parametrize("layout", ["keras", "pytorch"])
def test_exported_npy_weights_read_back_in_either_layout(tmp_path, layout):
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(5, 5, 3, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    files = export_weights(tmp_path / "w.npy", kernel, bias, layout)
    for path in files:  # the kernel file or its bias file
        assert is_weights_file(path)
        layer = load_weights(path)[0]
        np.testing.assert_array_equal(layer.kernel, kernel)
        np.testing.assert_array_equal(layer.bias, bias)
        assert layer.name == "w"


def test_npy_without_bias_is_read_by_its_square_kernels(tmp_path):
    kernel = np.random.default_rng(2).normal(size=(8, 1, 5, 5)).astype(np.float32)
    np.save(tmp_path / "k.npy", kernel)
    weights = load_weights(tmp_path / "k.npy")
    assert weights[0].kernel.shape == (5, 5, 1, 8)
    assert "PyTorch layout" in weights.notes[0]
    np.save(tmp_path / "both.npy", np.zeros((3, 3, 3, 3), np.float32))
    assert "fits both layouts" in load_weights(tmp_path / "both.npy").notes[0]


def test_plain_npz_with_kernel_and_bias(tmp_path):
    kernel = np.ones((3, 3, 2, 4), np.float64)
    np.savez(tmp_path / "w.npz", kernel=kernel, bias=np.arange(4.0))
    layer = load_weights(tmp_path / "w.npz")[0]
    assert layer.kernel.dtype == np.float32 and layer.kernel.shape == (3, 3, 2, 4)
    np.testing.assert_array_equal(layer.bias, np.arange(4.0))
    assert layer.strides is None


def test_an_input_array_is_no_weights_file(tmp_path):
    np.save(tmp_path / "image.npy", np.zeros((1, 8, 8, 3), np.float32))
    np.savez(tmp_path / "image.npz", input=np.zeros((8, 8, 3)))
    assert not is_weights_file(tmp_path / "image.npy")
    assert not is_weights_file(tmp_path / "image.npz")
    assert is_weights_file(FIXTURES / "keras_sequential.keras")


def test_layer_settings_take_what_the_file_records_and_keep_the_rest():
    current = LayerSettings(strides=(2, 2), padding="same", activation="tanh", flip_kernel=True)
    edges = load_weights(FIXTURES / "keras_sequential.keras")[0]
    s = edges.settings(current)
    assert (s.kernel_size, s.filters, s.strides, s.activation) == ((3, 3), 4, (2, 2), "relu")
    assert s.use_bias and not s.flip_kernel
    torch_layer = load_weights(FIXTURES / "torch_state_dict.safetensors")[1]
    s = torch_layer.settings(current)
    assert (s.strides, s.padding, s.activation, s.use_bias) == ((2, 2), "same", "tanh", False)
    assert torch_layer.unrecorded == (
        "strides",
        "padding",
        "dilation_rate",
        "activation",
        "padding mode",
    )


@pytest.mark.parametrize(
    ("shape", "activation", "reason"),
    [
        ((13, 13, 1, 2), "relu", "larger than 11×11"),
        ((3, 3, 1, 32), "relu", "32 filters, more than 16"),
        ((3, 3, 64, 2), "relu", "64 channels, more than 16"),
        ((3, 3, 1, 2), "gelu", "activation 'gelu'"),
    ],
)
def test_layers_the_app_cannot_show_are_refused_with_the_reason(shape, activation, reason):
    layer = ConvLayer("big", np.zeros(shape, np.float32), None, activation=activation)
    assert any(reason in p for p in layer.problems())
    with pytest.raises(ValueError, match=f"cannot show layer big: .*{reason}"):
        layer.settings(LayerSettings())


# -- malformed and hostile files ------------------------------------------------------------
def test_declared_sizes_are_refused_before_anything_is_read(tmp_path, monkeypatch):
    import h5py

    path = tmp_path / "huge.weights.h5"
    with h5py.File(path, "w") as f:
        # 36 G values declared, never written: the file stays tiny.
        f.create_dataset(
            "layers/conv2d/vars/0",
            shape=(20000, 20000, 3, 30),
            dtype="f4",
            chunks=(1, 1, 3, 30),
            compression="gzip",
        )
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"huge\.weights\.h5: .* values .*more than"):
        load_weights(path)
    monkeypatch.setattr(weight_layers, "MAX_TOTAL_VALUES", 100)
    with pytest.raises(InputError, match="more than 100 values in all"):
        load_weights(FIXTURES / "keras_sequential.keras")


def test_a_big_archive_member_is_refused_before_it_is_extracted(monkeypatch):
    from convviz.io import _keras_files

    monkeypatch.setattr(_keras_files, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(InputError, match=r"model\.weights\.h5 in the archive is .* bytes"):
        load_weights(FIXTURES / "keras_sequential.keras")


def test_hdf5_links_to_other_files_are_not_followed(tmp_path):
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["vars/0"] = np.zeros((3, 3, 1, 1), np.float32)
    with h5py.File(tmp_path / "linked.weights.h5", "w") as f:
        f["layers/conv2d"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/")
    with pytest.raises(InputError, match="links to another file"):
        load_weights(tmp_path / "linked.weights.h5")


def test_pickled_arrays_in_npz_are_refused(tmp_path):
    np.savez(tmp_path / "evil.npz", kernel=np.array([object()] * 4, dtype=object))
    with pytest.raises(InputError, match="evil.npz: .*Python objects"):
        load_weights(tmp_path / "evil.npz")


def test_nan_in_a_kernel_is_refused(tmp_path):
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[1, 1, 0, 1] = np.nan
    np.savez(tmp_path / "nan.npz", kernel=kernel)
    with pytest.raises(InputError, match="nan.npz .*NaN"):
        load_weights(tmp_path / "nan.npz")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.keras", b"not a zip", "not a valid .keras file"),
        ("m.h5", b"\x89HDF\r\n\x1a\n" + bytes(100), "not a valid HDF5"),
        ("m.safetensors", b'\x08\x00\x00\x00\x00\x00\x00\x00{"a":1}', "not a valid .safetensors"),
        ("m.npz", b"PK\x05\x06" + bytes(18), "holds no weights"),
        ("m.onnx", b"whatever", "cannot read weights from '.onnx' files"),
        ("m.npy", b"", "empty"),
    ],
)
def test_broken_files_say_what_is_wrong(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=f"^{name}: .*{message}"):
        load_weights(tmp_path / name)


def test_keras_archive_without_config_or_weights(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.keras", "w") as z:
        z.writestr("model.weights.h5", b"x")
    with pytest.raises(InputError, match="no config.json"):
        load_weights(tmp_path / "a.keras")
    with zipfile.ZipFile(tmp_path / "b.keras", "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(InputError, match="no model.weights.h5"):
        load_weights(tmp_path / "b.keras")


FUZZED = [p.name for p in sorted(FIXTURES.iterdir()) if p.name != "expected.npz"]


@pytest.mark.parametrize("name", FUZZED)
def test_damaged_fixtures_give_an_input_error_or_layers_never_a_crash(tmp_path, name):
    if name.endswith((".pt", ".pth")):
        pytest.importorskip("torch")
    data = (FIXTURES / name).read_bytes()
    rng = np.random.default_rng(sum(data[:64]))
    target = tmp_path / name
    damaged = [data[: len(data) * k // 8] for k in (1, 3, 5, 7)]
    for _ in range(6):
        flipped = bytearray(data)
        for i in rng.integers(0, len(data), 8):
            flipped[i] ^= 0xFF
        damaged.append(bytes(flipped))
    for content in damaged:
        target.write_bytes(content)
        try:
            weights = load_weights(target)
        except InputError as exc:
            assert str(exc).startswith(f"{name}")
        else:
            for layer in weights:
                assert np.isfinite(layer.kernel).all()
