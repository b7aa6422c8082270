"""CSV that is safe to open in a spreadsheet: no cell can start a formula.

Spreadsheets run a cell that starts with =, +, -, @, tab or carriage return as a formula
(CSV injection). Such text cells get a leading apostrophe; real numbers, as values or as
text such as "-3.5", stay numbers.

The one implementation for every CSV Layerloom writes: the web app's, the worker's
metrics.csv and test_predictions.csv, and the code bundle's predictions (the bundle ships
this file as csvsafe.py beside dataio.py, so it needs only the standard library).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from typing import IO, Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_number(text: str) -> bool:
    """A finite number written without surrounding spaces ("-2", "1e5"), which a spreadsheet reads as one."""
    try:
        return math.isfinite(float(text)) and text.strip() == text
    except ValueError:
        return False


def safe_cell(value: Any) -> Any:
    """The cell as written: numbers and empty cells untouched, formula-like text prefixed with an apostrophe."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(TRIGGERS) and not is_number(text):
        return "'" + text
    return text


def write_csv(handle: IO[str], header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(handle)
    writer.writerow([safe_cell(v) for v in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
