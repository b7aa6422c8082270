"""metrics.csv: one row per epoch, safe to open in a spreadsheet.

A text cell starting with = + - @ tab or CR is prefixed with a quote so a spreadsheet
never runs it as a formula (CSV injection); numbers are written as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from builder.datasets.csvsafe import safe_cell


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else safe_cell(value)


def write_metrics_csv(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    rows = list(rows)
    columns: list[str] = ["epoch", "step"]
    for row in rows:
        columns += [key for key in row if key not in columns]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([_cell(c) for c in columns])
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    return path
