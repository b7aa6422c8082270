"""The per-layer report: shapes, counts, totals, memory estimate, notes, JSON form."""

from __future__ import annotations

import json

from builder.spec import presets, validate_spec


def test_report_for_text_lstm() -> None:
    report = validate_spec(presets()["text_lstm"], batch_size=8)
    assert report.ok
    assert report.input_shape == (40,)
    assert report.output_shape == (1,)
    lstm = next(r for r in report.layers if r.id == "lstm")
    assert lstm.output_shape == (32,)
    assert lstm.trainable_params == 4 * 32 * (32 + 32 + 1)
    assert lstm.torch_extra_params == 4 * 32
    assert report.torch_extra_params == 128
    assert any("bias_hh" in note and "'lstm'" in note for note in report.notes)
    assert report.total_params == sum(r.trainable_params + r.non_trainable_params for r in report.layers)


def test_non_trainable_counts_batch_norm_statistics() -> None:
    report = validate_spec(presets()["small_cnn"])
    bn = next(r for r in report.layers if r.type == "BatchNormalization")
    assert (bn.trainable_params, bn.non_trainable_params) == (32, 32)
    assert report.non_trainable_params == 32
    assert report.trainable_params + report.non_trainable_params == report.total_params


def test_memory_estimate_grows_with_batch_size() -> None:
    spec = presets()["small_cnn"]
    small, large = validate_spec(spec, batch_size=1), validate_spec(spec, batch_size=64)
    assert 0 < small.memory_estimate_bytes < large.memory_estimate_bytes
    # Weights, gradients and two Adam moments at least.
    assert small.memory_estimate_bytes >= 4 * 4 * small.total_params


def test_report_is_json() -> None:
    report = validate_spec(presets()["residual_cnn"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True
    assert data["output_shape"] == [10]
    assert data["layers"][0] == {
        "id": "stem",
        "type": "Conv2D",
        "inputs": ["input"],
        "output_shape": [32, 32, 16],
        "trainable_params": 448,
        "non_trainable_params": 0,
        "torch_extra_params": 0,
    }
    add = next(layer for layer in data["layers"] if layer["id"] == "block1_add")
    assert add["inputs"] == ["stem", "block1_bn"]


def test_invalid_report_is_json_too() -> None:
    report = validate_spec({"format": 1, "input": {"shape": [4]}, "layers": [{"id": "a", "type": "Nope"}]})
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    assert data["errors"][0]["code"] == "unknown_type"
    assert data["errors"][0]["layer_id"] == "a"


WIDE_CONV = {
    "format": 1, "name": "wide", "input": {"shape": [16, 16, 1]},
    "layers": [
        {"id": "conv", "type": "Conv2D", "params": {"filters": 4096, "kernel_size": 3, "padding": "same"}},
        {"id": "pool", "type": "GlobalAveragePooling2D"},
        {"id": "out", "type": "Dense", "params": {"units": 10, "activation": "softmax"}},
    ],
}  # fmt: skip


def test_values_per_sample_are_the_input_and_every_layer_output() -> None:
    """What one prediction input puts through a 335 KB model: a million values at the conv."""
    report = validate_spec(WIDE_CONV)
    assert report.ok, report.errors
    assert report.values_per_sample == 16 * 16 * 1 + 16 * 16 * 4096 + 4096 + 10
