import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convviz.core.numbers import NUDGE_STEP, format_number, parse_number, short_number

kernel_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(kernel_floats)
def test_repr_round_trips(v):
    assert parse_number(repr(v)) == v


# Below 1e-38 a float32 kernel holds 0 anyway.
@given(kernel_floats.filter(lambda v: v == 0 or abs(v) >= 1e-38))
def test_display_form_reads_back_closely(v):
    shown = format_number(v)
    assert len(shown) <= 9
    assert parse_number(shown) == pytest.approx(v, rel=5e-3)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3.0),
        ("-1.5", -1.5),
        ("+.5", 0.5),
        ("1.", 1.0),
        ("1e-3", 1e-3),
        ("-2E+2", -200.0),
        ("1/9", 1 / 9),
        ("-1/8", -0.125),
        (" 1 / 16 ", 0.0625),
        (" 0.25 ", 0.25),
        ("\u22121", -1.0),
        ("0,5", 0.5),
        ("\u22120,25", -0.25),
        ("1e6", 1e6),
        ("-0", 0.0),
    ],
)
def test_accepted(text, value):
    assert parse_number(text) == value


def test_negative_zero_is_plain_zero():
    assert math.copysign(1, parse_number("-0")) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "'abc' is not a number: type e.g. -1.5, 1e-3 or 1/9"),
        ("", "empty value"),
        ("   ", "empty value"),
        ("nan", "must be finite"),
        ("-inf", "must be finite"),
        ("Infinity", "must be finite"),
        ("1/0", "divides by zero"),
        ("1/-0.0", "divides by zero"),
        ("1e7", "kernel values are limited to ±1e6"),
        ("-1000001", "kernel values are limited to ±1e6"),
        ("1e999", "kernel values are limited to ±1e6"),
        ("1/1e-7", "kernel values are limited to ±1e6"),
        ("1,5.2", "mixes ',' and '.'"),
        ("1/9/2", "is not a number"),
        ("2*3", "is not a number"),
        ("__import__('os')", "is not a number"),
        ("0x10", "is not a number"),
        ("1_000", "is not a number"),
        ("--1", "is not a number"),
        ("\u0663", "is not a number"),  # Arabic-Indic three: float() would accept it
        ("x" * 50, "'xxxxxxxxxxxxxxxxx…' is not a number"),
    ],
)
def test_rejected_with_message(text, message):
    with pytest.raises(ValueError) as info:
        parse_number(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1 / 9, "0.111"),
        (-1.0, "-1"),
        (0.5, "0.5"),
        (1e-4, "1e-4"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.0625, "0.0625"),
        (123.456, "123"),
        (0.30000000000000004, "0.3"),
        (1e6, "1e6"),
        (1.5e-9, "1.5e-9"),
    ],
)
def test_format_number(value, shown):
    assert format_number(value) == shown


def test_format_number_fits_cells():
    assert format_number(-1.234e-5, max_chars=7) == "-1.2e-5"
    assert format_number(-1 / 256, max_chars=7) == "-0.0039"
    assert format_number(1 / 9, digits=7) == "0.1111111"


# What overflowing float32 maps hold: infinities, NaN, signed zeros, denormals, and values
# near float32's limit (3.4e38); the last ones only arise in float64 arithmetic.
EXTREMES = [
    (math.inf, "inf"),
    (-math.inf, "-inf"),
    (math.nan, "nan"),
    (-0.0, "0"),
    (1e-45, "1e-45"),
    (-1.4e-45, "-1e-45"),
    (5e-324, "5e-324"),
    (1e38, "1e38"),
    (-3e38, "-3e38"),
    (3.4028235e38, "3e38"),
    (1e308, "1e308"),
    (9999.6, "10000"),
    (0.00099996, "1e-3"),
    (1.5e5, "1.5e5"),
    (-1.5e7, "-1.5e7"),
    (2.5e38, "2e38"),  # "2.5e38" would not fit
]


@pytest.mark.parametrize(("value", "shown"), EXTREMES)
def test_short_number_of_extreme_values(value, shown):
    assert short_number(value) == shown
    if not abs(value) > 3.5e38:  # what float32 holds: numpy scalars read the same
        assert short_number(np.float32(value)) == short_number(float(np.float32(value)))


@pytest.mark.parametrize(("value", "_shown"), EXTREMES)
def test_format_number_of_extreme_values_never_raises(value, _shown):
    text = format_number(value, max_chars=7)
    assert text == ("0" if value == 0 else text) and len(text) <= 9


def test_short_number_of_what_is_not_a_number():
    assert short_number(None) == "?"
    assert short_number("x") == "?"
    assert short_number(10**400) == "?"  # an int too large for a float


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_short_number_fits_a_pixel(v):
    # Five characters for anything float32 holds; float64's exponents below -99 take six.
    assert len(short_number(v).lstrip("-")) <= (5 if v == 0 or abs(v) > 1e-99 else 6)


def test_nudge_step():
    assert NUDGE_STEP == 0.1
