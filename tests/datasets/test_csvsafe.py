"""CSV written back out cannot start a spreadsheet formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from builder.datasets.csvsafe import neutralise_cell, write_csv

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_cells_get_an_apostrophe_and_numbers_do_not():
    assert neutralise_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert neutralise_cell("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise_cell("\tcmd") == "'\tcmd"
    assert neutralise_cell("-3.5") == "-3.5"
    assert neutralise_cell("+7") == "+7"
    assert neutralise_cell(-2) == -2
    assert neutralise_cell("-1+2") == "'-1+2"
    assert neutralise_cell("plain") == "plain"


@given(st.text(max_size=30))
def test_no_written_text_cell_starts_a_formula(text):
    buf = io.StringIO()
    write_csv(buf, ["h"], [[text]])
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    cell = rows[1][0] if len(rows) > 1 and rows[1] else ""
    if cell.startswith(TRIGGERS):
        float(cell)  # only a real number may start with a sign
    assert cell.removeprefix("'") == text or cell == text
