"""Exported weight layouts and the generated Keras / PyTorch code."""

import os

import numpy as np
import pytest

from convviz.core.activations import ACTIVATIONS
from convviz.core.conv import conv2d
from convviz.core.explain_code import LITERAL_LIMIT, keras_code, pytorch_code
from convviz.core.model import PADDING_MODES, LayerSettings
from convviz.io.weights import export_weights, weight_paths

# Where Keras is installed, run it on torch (tests/core/test_conv_keras.py does the same).
os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture
def weights():
    rng = np.random.default_rng(4)
    return rng.normal(size=(3, 2, 2, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)


def test_keras_and_pytorch_layouts_round_trip(tmp_path, weights):
    kernel, bias = weights
    files = export_weights(tmp_path / "w_keras", kernel, bias, layout="keras")
    assert [p.name for p in files] == ["w_keras.npy", "w_keras_bias.npy"]
    np.testing.assert_array_equal(np.load(files[0]), kernel)
    np.testing.assert_array_equal(np.load(files[1]), bias)
    files = export_weights(tmp_path / "w_torch.npy", kernel, None, layout="pytorch")
    weight = np.load(files[0])
    assert len(files) == 1 and weight.shape == (4, 2, 3, 2)  # (filters, C_in/groups, kh, kw)
    for f in range(4):
        for k in range(2):
            for i in range(3):
                for j in range(2):
                    assert weight[f, k, i, j] == kernel[i, j, k, f]
    assert sorted(os.listdir(tmp_path)) == ["w_keras.npy", "w_keras_bias.npy", "w_torch.npy"]


def test_flipped_export_is_rotated_and_bad_input_writes_nothing(tmp_path, weights):
    kernel, bias = weights
    (path,) = export_weights(tmp_path / "f", kernel, layout="keras", flip_kernel=True)
    np.testing.assert_array_equal(np.load(path), np.rot90(kernel, 2, axes=(0, 1)))
    with pytest.raises(ValueError, match="bias"):
        export_weights(tmp_path / "bad", kernel, bias[:2])
    with pytest.raises(ValueError, match="layout"):
        export_weights(tmp_path / "bad", kernel, layout="caffe")
    assert not weight_paths(tmp_path / "bad")[0].exists()
    assert sorted(os.listdir(tmp_path)) == ["f.npy"]


def _namespace_run(code: str, x: np.ndarray) -> np.ndarray:
    # The snippet builds its own zero input; swap in ours, keeping the snippet's shape.
    lines = code.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("x = np.zeros("):
            batch = line.startswith("x = np.zeros((1,")
            lines[i] = "x = _x[None]" if batch else "x = _x"
    ns = {"_x": x}
    exec("\n".join(lines), ns)  # noqa: S102 - our own generated code
    return ns["y"]


SETTINGS = [
    LayerSettings(kernel_size=(3, 2), filters=4, activation="relu"),
    LayerSettings(
        kernel_size=(3, 3), filters=4, strides=(2, 1), padding="same", groups=2, activation="tanh"
    ),
    LayerSettings(kernel_size=(2, 3), filters=2, padding="full", dilation=(2, 1), use_bias=False),
    LayerSettings(
        kernel_size=(3, 3),
        filters=2,
        padding="same",
        padding_mode="reflect",
        flip_kernel=True,
        activation="silu",
    ),
    LayerSettings(kernel_size=(2, 2), filters=2, padding=(1, 0, 2, 1), padding_mode="circular"),
]


def _layer(s, rng):
    x = rng.normal(size=(7, 6, 4)).astype(np.float32)
    kernel = rng.normal(size=(*s.kernel_size, 4 // s.groups, s.filters)).astype(np.float32)
    bias = rng.normal(size=s.filters).astype(np.float32) if s.use_bias else None
    expected = conv2d(x, kernel, bias, **s.conv_kwargs()).feature_maps
    return x, kernel, bias, expected


@pytest.mark.parametrize("s", SETTINGS)
def test_pytorch_snippet_computes_the_feature_maps(s, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x, kernel, bias, expected = _layer(s, np.random.default_rng(5))
    np.testing.assert_allclose(
        _namespace_run(pytorch_code(kernel, bias, s, x.shape), x), expected, atol=1e-4
    )
    files = export_weights(tmp_path / "w", kernel, bias, flip_kernel=s.flip_kernel)
    code = pytorch_code(kernel, bias, s, x.shape, files=files)
    np.testing.assert_allclose(_namespace_run(code, x), expected, atol=1e-4)


@pytest.mark.parametrize("s", SETTINGS)
def test_keras_snippet_computes_the_feature_maps(s):
    pytest.importorskip("keras")
    x, kernel, bias, expected = _layer(s, np.random.default_rng(6))
    got = _namespace_run(keras_code(kernel, bias, s, x.shape), x)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_snippets_embed_exact_weights_and_refuse_huge_literals():
    s = LayerSettings(kernel_size=(3, 3), filters=2, flip_kernel=True)
    kernel = np.random.default_rng(7).normal(size=(3, 3, 1, 2)).astype(np.float32)
    bias = np.array([0.1, -2.5], np.float32)
    ns = {"np": np}
    code = pytorch_code(kernel, bias, s, (5, 5, 1))
    assert "rotated by 180°" in code and "transpose(3, 2, 0, 1)" in code
    weights = code[code.index("kernel = ") : code.index("\nx = ")]
    exec(weights, ns)  # noqa: S102
    np.testing.assert_array_equal(ns["kernel"], kernel[::-1, ::-1])
    np.testing.assert_array_equal(ns["bias"], bias)
    big = np.zeros((11, 11, 4, 1), np.float32)
    assert big.size > LITERAL_LIMIT
    with pytest.raises(ValueError, match="Export weights"):
        keras_code(big, None, LayerSettings(kernel_size=(11, 11), filters=1), (20, 20, 4))


def accepted_layers():
    """Every kind of layer the app accepts: each padding, padding mode, groups, strides or
    dilation, even and odd kernels, a stride longer than the kernel, and every activation."""
    rng = np.random.default_rng(8)
    paddings = ["valid", "same", "full", (1, 0, 2, 1)]
    steps = [((1, 1), (1, 1)), ((2, 3), (1, 1)), ((3, 3), (1, 1)), ((1, 1), (2, 1))]
    kernels = [(3, 3), (2, 2), (1, 1), (2, 3)]
    cases = []
    for i, (padding, mode, groups, (strides, dilation)) in enumerate(
        (p, m, g, sd) for p in paddings for m in PADDING_MODES for g in (1, 2) for sd in steps
    ):
        s = LayerSettings(
            kernel_size=kernels[i % len(kernels)],
            filters=2,
            strides=strides,
            padding=padding,
            dilation=dilation,
            groups=groups,
            activation=ACTIVATIONS[i % len(ACTIVATIONS)],
            use_bias=bool(rng.random() < 0.7),
            padding_mode=mode,
            flip_kernel=bool(rng.random() < 0.3),
        )
        x = rng.normal(size=(7, 8, 2)).astype(np.float32)
        kernel = rng.normal(size=(*s.kernel_size, 2 // groups, 2)).astype(np.float32)
        bias = rng.normal(size=2).astype(np.float32) if s.use_bias else None
        cases.append((s, x, kernel, bias, conv2d(x, kernel, bias, **s.conv_kwargs())))
    return cases


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_code_for_every_accepted_layer_computes_the_same_maps(framework):
    pytest.importorskip(framework)
    make = keras_code if framework == "keras" else pytorch_code
    for s, x, kernel, bias, expected in accepted_layers():
        got = _namespace_run(make(kernel, bias, s, x.shape), x)
        assert got.shape == expected.output_shape, s
        scale = float(np.abs(expected.pre_activation).max()) + 1
        np.testing.assert_allclose(
            got, expected.feature_maps, rtol=1e-5, atol=1e-5 * scale, err_msg=str(s)
        )


def test_no_code_for_a_layer_keras_refuses():
    s = LayerSettings(kernel_size=(3, 3), filters=1, strides=(2, 2), dilation=(2, 2))
    kernel = np.ones((3, 3, 1, 1), np.float32)
    for make in (keras_code, pytorch_code):
        with pytest.raises(ValueError, match="strides > 1 .* dilation_rate > 1"):
            make(kernel, None, s, (9, 9, 1))
