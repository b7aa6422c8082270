"""CSV that is safe to open in a spreadsheet: no cell can start a formula.

Spreadsheets run a cell that starts with =, +, -, @, tab or carriage return as a formula
(CSV injection). Such text cells get a leading apostrophe; real numbers such as -3.5
stay numbers.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from typing import IO, Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and text.strip() == text
    except ValueError:
        return False


def neutralise_cell(value: Any) -> Any:
    """The cell as written: numbers untouched, formula-like text prefixed with an apostrophe."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_TRIGGERS) and not _is_number(text):
        return "'" + text
    return text


def write_csv(handle: IO[str], header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(handle)
    writer.writerow([neutralise_cell(v) for v in header])
    for row in rows:
        writer.writerow([neutralise_cell(v) for v in row])
