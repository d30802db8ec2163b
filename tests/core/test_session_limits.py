"""Kernel and bias values from a session obey the kernel editor's limit of ±1e6."""

import numpy as np
import pytest

from convviz.core.model import default_document
from convviz.io.session import load_session, save_session
from tests.core.test_session import edited, npy, refused


def _state(kernel_value=None, bias_value=None):
    doc = default_document(np.zeros((5, 5, 1), np.float32))
    if kernel_value is not None:
        doc.kernel[1, 2, 0, 1] = kernel_value
    if bias_value is not None:
        doc.bias[0] = bias_value
    return dict(
        input=doc.input,
        kernel=doc.kernel,
        bias=doc.bias,
        settings=doc.settings,
        channel_names=doc.channel_names,
        selected_filter=0,
    )


@pytest.mark.parametrize(
    ("kernel_value", "bias_value", "message"),
    [
        (3e38, None, "the kernel holds 1 value(s) beyond ±1e6, the limit of a kernel cell; "
         "the first is 3e+38 at index (1, 2, 0, 1)"),
        (-1.5e6, None, "the first is -1.5e+06"),
        (None, 2e6, "the bias holds 1 value(s) beyond ±1e6"),
    ],
)  # fmt: skip
def test_a_session_with_values_beyond_the_editors_limit_is_refused(
    tmp_path, kernel_value, bias_value, message
):
    good = save_session(tmp_path / "good.convviz", _state())
    state = _state(kernel_value, bias_value)
    bad = edited(good, tmp_path, kernel_npy=npy(state["kernel"]), bias_npy=npy(state["bias"]))
    refused(bad, message)


def test_saving_refuses_what_opening_would_refuse(tmp_path):
    with pytest.raises(ValueError, match="beyond ±1e6"):
        save_session(tmp_path / "big.convviz", _state(kernel_value=1e7))
    assert not (tmp_path / "big.convviz").exists()


def test_values_at_the_limit_round_trip(tmp_path):
    path = save_session(tmp_path / "edge.convviz", _state(kernel_value=-1e6, bias_value=1e6))
    session = load_session(path)
    assert session.state["kernel"][1, 2, 0, 1] == -1e6 and session.state["bias"][0] == 1e6
