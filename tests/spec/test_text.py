"""Plain-text report and error listing for the command line."""

from __future__ import annotations

from builder.spec import presets, validate_spec
from builder.spec.presets import ground_truth
from builder.spec.text import error_lines, report_table


def test_report_table_lists_layers_and_totals() -> None:
    text = report_table(validate_spec(ground_truth()["mnist_convnet"][0], batch_size=16))
    assert "conv1 (Conv2D)" in text and "(26, 26, 32)" in text
    assert "Total params: 34,826" in text
    assert "batch size 16" in text


def test_report_table_includes_torch_notes() -> None:
    assert "bias_hh" in report_table(validate_spec(presets()["text_lstm"]))


def test_error_lines_locate_each_problem() -> None:
    bad = {"format": 1, "input": {"shape": [4]}, "layers": [{"id": "a", "type": "Dense", "params": {"units": 0}}]}
    lines = error_lines(validate_spec(bad)).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("a.units: ") and lines[0].endswith("[out_of_range]")
