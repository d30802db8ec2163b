"""Sessions of a network: every layer, the one shown, and refusals of bad layer fields."""

import json

import numpy as np
import pytest

from convviz.core.model import Document, LayerSettings
from convviz.core.stack import ConvLayer, PoolLayer
from convviz.io.session import load_session, save_session
from tests.core.test_session import edited, make_state, members, npy, refused


def network_state(shown=3):
    rng = np.random.default_rng(7)
    state = make_state(h=12, w=13, c=3, filters=2)
    second = ConvLayer(
        rng.normal(size=(2, 3, 2, 4)).astype(np.float32),
        rng.normal(size=4).astype(np.float32),
        LayerSettings(kernel_size=(2, 3), filters=4, activation="tanh", padding="same"),
        selected_filter=3,
    )
    pool = PoolLayer((2, 2), (1, 2), "same")
    third = ConvLayer(
        rng.normal(size=(3, 3, 2, 2)).astype(np.float32),
        np.zeros(2, np.float32),
        LayerSettings(kernel_size=(3, 3), filters=2, groups=2, use_bias=False),
        selected_filter=1,
    )
    return dict(state, layers=(second, pool, third), shown=shown)


@pytest.fixture
def stacked(tmp_path):
    return save_session(tmp_path / "net.convviz", network_state())


def test_a_network_round_trips_with_the_layer_it_showed(stacked):
    want = network_state()
    got = load_session(stacked).state
    assert got["shown"] == 3
    assert got["layers"] == want["layers"]  # kernels, biases, settings, selected filters
    np.testing.assert_array_equal(got["input"], want["input"])
    doc = Document.from_network(got)
    assert doc.shown == 3 and doc.selected_filter == 1 and not doc.settings.use_bias
    files = members(stacked)
    assert {"layer2_kernel.npy", "layer2_bias.npy", "layer4_kernel.npy"} <= set(files)
    meta = json.loads(files["session.json"])
    assert meta["layers"][1] == {
        "kind": "MaxPooling2D",
        "pool_size": [2, 2],
        "strides": [1, 2],
        "padding": "same",
    }


def test_the_shown_layer_of_a_document_is_saved_from_the_network(tmp_path):
    doc = Document.from_network(network_state(shown=0))
    doc.show_layer(3)
    doc.kernel[0, 0, 0, 0] = 4.25  # an edit of the shown layer
    path = save_session(tmp_path / "edited.convviz", doc.network_state())
    again = Document.from_network(load_session(path).state)
    assert again.shown == 3 and again.kernel[0, 0, 0, 0] == 4.25
    np.testing.assert_array_equal(again.network_input, network_state()["input"])


def _layer(n, **fields):
    def edit(meta):
        meta["layers"][n].update(fields)

    return edit


@pytest.mark.parametrize(
    "edit, words",
    [
        (_layer(0, kind="Dense"), ["layer 2's kind", "'Dense'"]),
        (_layer(0, colour="red"), ["layer 2", "unknown field", "colour"]),
        (_layer(0, selected_filter=4), ["layer 2's selected_filter is 4"]),
        (_layer(1, pool_size=[0, 2]), ["layer 3's pool_size"]),
        (_layer(1, padding="full"), ["layer 3's padding"]),
        (_layer(0, kernel="kernel"), ["layer2_kernel"]),
        (lambda m: m.update(shown=2), ["layer 3", "not a Conv2D"]),
        (lambda m: m.update(shown=9), ["shown is 9"]),
        (lambda m: m["layers"].extend([m["layers"][1]] * 2), ["at most 3 layers"]),
        (
            lambda m: (
                m["layers"][0]["settings"].update(filters=3),
                m["layers"][0].update(selected_filter=0),
            ),
            ["layer 2's kernel tensor has shape (2, 3, 2, 4)", "(2, 3, 2, 3)"],
        ),
        (
            lambda m: m["arrays"].pop("layer4_bias"),
            ["arrays lacks", "layer4_bias"],
        ),
    ],
)
def test_bad_layer_fields_are_refused_naming_the_file(stacked, tmp_path, edit, words):
    refused(edited(stacked, tmp_path, edit), *words)


def test_a_layer_array_that_disagrees_with_its_description(stacked, tmp_path):
    bad = edited(stacked, tmp_path, layer2_kernel_npy=npy(np.zeros((2, 3, 2, 5), np.float32)))
    refused(bad, "layer2_kernel", "shape")


def test_an_inconsistent_network_is_not_saved(tmp_path):
    state = network_state()
    state["shown"] = 2  # the pooling layer
    with pytest.raises(ValueError, match="layer 3"):
        save_session(tmp_path / "x.convviz", state)
    assert not (tmp_path / "x.convviz").exists()
