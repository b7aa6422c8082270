"""Presets are valid starting points of the kinds the product promises."""

from __future__ import annotations

from builder.spec import presets, validate_spec


def test_presets_exist_and_validate() -> None:
    all_presets = presets()
    assert set(all_presets) == {"mlp", "small_cnn", "lenet5", "residual_cnn", "text_lstm"}
    for name, spec in all_presets.items():
        report = validate_spec(spec)
        assert report.ok, (name, [str(e) for e in report.errors])
        assert report.resolved is not None


def test_presets_cover_the_promised_shapes() -> None:
    all_presets = presets()
    types = {name: {layer["type"] for layer in spec["layers"]} for name, spec in all_presets.items()}
    assert len(all_presets["mlp"]["input"]["shape"]) == 1
    assert "Conv2D" in types["small_cnn"]
    assert "Add" in types["residual_cnn"] and not validate_spec(all_presets["residual_cnn"]).resolved.is_chain
    assert {"Embedding", "LSTM"} <= types["text_lstm"]


def test_presets_are_fresh_copies() -> None:
    first = presets()
    first["mlp"]["layers"].clear()
    assert presets()["mlp"]["layers"]
