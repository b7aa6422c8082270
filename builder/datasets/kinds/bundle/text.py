"""kindio.py for text: the text kind's file reading in the code bundle.

Shipped as kindio.py next to dataio.py, which calls it; imports only the bundle's own
modules and the standard library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import preprocessing


def read_texts(doc: dict[str, Any], path: Path) -> list[str]:
    """A CSV file with the training text column, or a plain file with one text per line."""
    column = doc["text"]["column"]
    if path.suffix.lower() == ".csv":
        rows = preprocessing.read_csv_rows(path)
        if rows and column not in rows[0]:
            raise SystemExit(f"{path}: no column {column!r}; the texts go in that column")
        return [row[column] for row in rows]
    return path.read_text(encoding="utf-8").splitlines()


def read_inputs(doc: dict[str, Any], path: Path) -> tuple[list[str], list[Any]]:
    texts = read_texts(doc, path)
    return [f"{path.name}:{n}" for n in range(1, len(texts) + 1)], texts


def read_labelled(doc: dict[str, Any], path: Path) -> tuple[list[Any], list[str], str]:
    """(texts, labels, the label column's name): a CSV with the text and label columns."""
    target = doc["text"]["label_column"]
    rows = [row for row in preprocessing.read_csv_rows(path) if not preprocessing.is_missing(row.get(target))]
    if not rows:
        raise SystemExit(f"{path}: no rows with a value in the column {target!r}")
    return [row[doc["text"]["column"]] for row in rows], [row[target] for row in rows], target


def transform(doc: dict[str, Any], records: list[Any]) -> np.ndarray:
    return preprocessing.transform_texts(doc, records)
