"""One spec with many kinds of problems: every one is reported in one pass, each on its layer
and parameter, as the builder page shows them (and none is reported twice over)."""

from __future__ import annotations

from builder.spec import validate_spec


def test_every_kind_of_problem_is_reported_together_with_its_layer_and_param() -> None:
    spec = {
        "format": 1,
        "name": "many problems",
        "extra": 1,
        "input": {"shape": [8, 8, 1]},
        "layers": [
            {"id": "c1", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 9}},
            {"id": "c2", "type": "Conv2D", "inputs": ["input"], "params": {"filters": -1, "kernel_size": 3, "padding": "x"}},
            {"id": "d", "type": "Dense", "inputs": ["nope"], "params": {"units": 3}},
            {"id": "d", "type": "Dense", "params": {"units": 3}},
            {"id": "g", "type": "Blah"},
            {"id": "a", "type": "Add", "inputs": ["c1"]},
            {"id": "f", "type": "Flatten", "inputs": ["a"]},
            {"id": "o", "type": "Dense", "params": {"units": 0}},
        ],
    }
    report = validate_spec(spec)
    found = {(e.code, e.layer_id, e.param, e.path) for e in report.errors}
    assert found == {
        ("unknown_field", None, None, "extra"),
        ("shape_mismatch", "c1", "kernel_size", "layers[0].params.kernel_size"),
        ("out_of_range", "c2", "filters", "layers[1].params.filters"),
        ("invalid_choice", "c2", "padding", "layers[1].params.padding"),
        ("unused_layer", "c2", None, "layers[1]"),
        ("unknown_input", "d", "inputs", "layers[2].inputs"),
        ("duplicate_id", "d", None, "layers[3].id"),
        ("unknown_type", "g", None, "layers[4].type"),
        ("unused_layer", "g", None, "layers[4]"),
        ("wrong_input_count", "a", "inputs", "layers[5].inputs"),
        ("out_of_range", "o", "units", "layers[7].params.units"),
    }
    # c1 feeds the Add (whose input count is the problem), so it is not called unused too.
    assert not report.ok and len(report.errors) == len(found)
