"""metrics.csv is spreadsheet-safe (the TensorBoard logs: test_tensorboard_logs.py)."""

from __future__ import annotations

import csv

from workers.training.csvexport import write_metrics_csv


def test_csv_neutralises_formula_cells_and_keeps_numbers(tmp_path):
    path = write_metrics_csv(
        tmp_path / "m.csv",
        [{"epoch": 1, "step": 10, "loss": -0.5, "note": "=HYPERLINK(1)"},
         {"epoch": 2, "step": 20, "loss": 0.25, "note": "+1", "other": "@x", "t": "\tx", "r": "\rx", "m": "-2"}],
    )  # fmt: skip
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0][:4] == ["epoch", "step", "loss", "note"]
    assert rows[1][2] == "-0.5" and rows[2][2] == "0.25"  # numbers stay numbers, even negative ones
    # Formula-like text gets an apostrophe; numbers written as text ("+1", "-2") are numbers to a spreadsheet too.
    assert [cell for cell in rows[1][3:] + rows[2][3:] if cell] == ["'=HYPERLINK(1)", "+1", "'@x", "'\tx", "'\rx", "-2"]
