"""CSV written back out cannot start a spreadsheet formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from builder.datasets.csvsafe import safe_cell, write_csv

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_cells_get_an_apostrophe_and_numbers_do_not():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tcmd") == "'\tcmd"
    assert safe_cell("-3.5") == "-3.5"
    assert safe_cell("+7") == "+7"
    assert safe_cell(-2) == -2
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("-2") == "-2" and safe_cell("-inf") == "'-inf"  # a number as text; "-inf" is not one
    assert safe_cell(None) is None and safe_cell(True) is True
    assert safe_cell("plain") == "plain"


@given(st.text(max_size=30))
def test_no_written_text_cell_starts_a_formula(text):
    buf = io.StringIO()
    write_csv(buf, ["h"], [[text]])
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    cell = rows[1][0] if len(rows) > 1 and rows[1] else ""
    if cell.startswith(TRIGGERS):
        float(cell)  # only a real number may start with a sign
    assert cell.removeprefix("'") == text or cell == text
