"""The shortcuts the predict path takes for JSON numbers give exactly what the per-cell path gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder.datasets.preprocessing import InputError, is_missing, parse_number, parse_numbers

cells = st.one_of(st.floats(allow_infinity=False), st.integers(-(10**12), 10**12), st.none(),
                  st.sampled_from(["", "NA", "3.5", " 2", "nan"]))  # fmt: skip


@given(st.lists(cells, max_size=20))
def test_parse_numbers_equals_parse_number_per_cell(values):
    slow = np.array([parse_number(v, "c") for v in values], dtype=np.float64)
    np.testing.assert_array_equal(parse_numbers(values, "c"), slow)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, True])
def test_parse_numbers_still_refuses_what_parse_number_refuses(bad):
    with pytest.raises(InputError, match="column 'c'"):
        parse_numbers([1.0, bad], "c")


@given(cells)
def test_is_missing(value):
    expected = value is None or (isinstance(value, float) and math.isnan(value)) or value in ("", "NA", "nan")
    assert is_missing(value) == expected
