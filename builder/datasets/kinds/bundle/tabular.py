"""kindio.py for a table: the tabular kind's file reading in the code bundle.

Shipped as kindio.py next to dataio.py, which calls it; imports only the bundle's own
modules and the standard library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import preprocessing


def read_inputs(doc: dict[str, Any], path: Path) -> tuple[list[str], list[Any]]:
    """A CSV file with the training columns (extra columns, such as the target, are ignored)."""
    rows = preprocessing.read_csv_rows(path)
    return [f"{path.name}:{n}" for n in range(1, len(rows) + 1)], rows


def read_labelled(doc: dict[str, Any], path: Path) -> tuple[list[Any], list[str], str]:
    """(rows, target values, the target's name): a CSV with the target column."""
    target = doc["target_column"]
    rows = [row for row in preprocessing.read_csv_rows(path) if not preprocessing.is_missing(row.get(target))]
    if not rows:
        raise SystemExit(f"{path}: no rows with a value in the column {target!r}")
    return rows, [row[target] for row in rows], target


def transform(doc: dict[str, Any], records: list[Any]) -> np.ndarray:
    return preprocessing.transform_rows(doc, records)
