"""test_predictions.csv: what the trained model predicted for each test-split sample.

Written at evaluation time from the same outputs the evaluation is computed from, so the
predict endpoint and the code bundle's predict.py can be checked against it (the parity
tests do), and a person can look for the rows the model got wrong. Columns: ``id`` (the
dataset id: row number for tables and text, zip member index for images), then
``label``, ``probability`` and ``p(<class>)`` per class, or ``prediction`` (regression,
in the target's own units).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from builder.codegen.scripts.heads import class_probabilities
from builder.datasets.csvsafe import safe_cell
from builder.datasets.preprocessing import unscale_target


def write_test_predictions(
    path: Path, doc: dict[str, Any], task: str, head: str, class_names: list[str], ids: Any, outputs: np.ndarray
) -> Path:
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    ids = np.arange(len(outputs)) if ids is None else np.asarray(ids)
    if task == "regression":
        values = unscale_target(doc, outputs)
        header = [
            "id",
            *(["prediction"] if values.shape[1] == 1 else [f"prediction_{i}" for i in range(values.shape[1])]),
        ]
        rows = [[int(i), *map(float, row)] for i, row in zip(ids, values, strict=True)]
    else:
        probs = class_probabilities(outputs, head)
        names = class_names if len(class_names) == probs.shape[1] else [str(i) for i in range(probs.shape[1])]
        header = ["id", "label", "probability", *[f"p({name})" for name in names]]
        rows = []
        for i, row in zip(ids, probs, strict=True):
            best = int(row.argmax())
            rows.append([int(i), names[best], float(row[best]), *map(float, row)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([safe_cell(c) for c in header])
        writer.writerows([safe_cell(c) for c in row] for row in rows)
    return path
