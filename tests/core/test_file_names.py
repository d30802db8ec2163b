"""File names are shown the way a file manager shows them, and paths are what is asked."""

import os

import numpy as np
import pytest

from convviz import InputError, load_input
from convviz.io.file_names import display_name
from convviz.io.session import load_session

# b"caf\xe9": Latin-1 bytes, not UTF-8; Python holds the \xe9 byte as "\udce9".
LATIN1 = os.fsdecode(b"caf\xe9.npy")


def test_bytes_that_are_not_utf8_show_as_the_replacement_character():
    assert LATIN1 == "caf\udce9.npy"
    assert display_name(LATIN1) == "caf\ufffd.npy"
    assert display_name(b"/tmp/caf\xe9/x\xff.png") == "x\ufffd.png"
    assert display_name(b"/tmp/caf\xe9/x\xff.png", full=True) == "/tmp/caf\ufffd/x\ufffd.png"


def test_ordinary_and_odd_names_are_left_as_they_are():
    assert display_name("digit.png") == "digit.png"
    assert display_name("/a/b/Ünïcode ✓.npy") == "Ünïcode ✓.npy"
    assert display_name("/a/b/") == "b"
    assert display_name("/") == "/"
    assert display_name("bad\ud800.npy") == "bad\ufffd.npy"  # no file system makes these


@pytest.mark.parametrize("load", [load_input, load_session])
def test_a_message_about_a_file_with_such_a_name_shows_it_readably(tmp_path, load):
    path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.npy")
    with open(path, "wb") as f:
        f.write(b"not an array")
    with pytest.raises(InputError) as info:
        load(os.fsdecode(path))
    message = str(info.value)
    assert message.startswith("caf\ufffd.npy: ")
    assert "\udce9" not in message
    message.encode("utf-8")  # printable, loggable, shown in a dialog


@pytest.mark.parametrize("load", [load_input, load_session])
@pytest.mark.parametrize(
    ("value", "what"),
    [
        (b"digit.png", "not bytes"),
        (None, "not NoneType"),
        (3, "not int"),
        (np.zeros(3), "not ndarray"),
    ],
)
def test_what_is_not_a_path_is_an_input_error_saying_what_a_path_is(load, value, what):
    with pytest.raises(InputError, match=f"expected the path of a file .*{what}"):
        load(value)


def test_max_side_must_be_a_whole_number(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4, 4), np.float32))
    for bad in (0, 2.5, "8", True):
        with pytest.raises(ValueError, match="max_side must be a whole number"):
            load_input(path, max_side=bad)
    assert load_input(path, max_side=np.int64(2)).shape == (2, 2, 1)
