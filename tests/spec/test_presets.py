"""Presets are valid starting points of the kinds the product promises."""

from __future__ import annotations

from builder.spec import presets, validate_spec


def test_presets_exist_and_validate() -> None:
    all_presets = presets()
    assert set(all_presets) == {
        "mlp",
        "small_cnn",
        "lenet5",
        "residual_cnn",
        "text_lstm",
        "text_fasttext",
        "text_transformer",
    }
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
    assert {"Embedding", "GlobalAveragePooling1D"} <= types["text_fasttext"]
    transformer = {"PositionalEmbedding", "MultiHeadAttention", "Add", "LayerNormalization", "GlobalAveragePooling1D"}
    assert transformer <= types["text_transformer"]
    assert not validate_spec(all_presets["text_transformer"]).resolved.is_chain


def test_presets_are_fresh_copies() -> None:
    first = presets()
    first["mlp"]["layers"].clear()
    assert presets()["mlp"]["layers"]


def test_a_fitted_preset_takes_the_datasets_shape_vocabulary_and_head() -> None:
    from builder.spec.presets import fit_preset

    text = fit_preset("text_fasttext", input_shape=[25], task="classification", n_outputs=4, vocab_size=1234)
    assert text["input"]["shape"] == [25] and text["layers"][0]["params"]["input_dim"] == 1234
    assert text["layers"][-1]["params"] == {"units": 4, "activation": "softmax"}
    table = fit_preset("mlp", input_shape=(10,), task="regression", n_outputs=1)
    assert table["layers"][-1]["params"] == {"units": 1, "activation": "linear"}
    for spec in (text, table):
        assert validate_spec(spec).ok
    assert presets()["mlp"]["input"]["shape"] == [16]  # the stored preset is untouched
