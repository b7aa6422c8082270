"""fit_preset: a preset's input from the data, its head from the task, every window inside the image."""

from __future__ import annotations

import pytest

from builder.spec import validate_spec
from builder.spec.presets import PresetError, fit_preset, fitting_presets, output_head


@pytest.mark.parametrize(
    ("task", "n_outputs", "head"),
    [
        ("classification", 3, {"units": 3, "activation": "softmax"}),
        ("classification", 2, {"units": 1, "activation": "sigmoid"}),
        ("regression", 1, {"units": 1, "activation": "linear"}),
    ],
)
def test_the_head_follows_the_task(task: str, n_outputs: int, head: dict) -> None:
    assert output_head(task, n_outputs) == head
    spec = fit_preset("mlp", input_shape=[7], task=task, n_outputs=n_outputs)
    assert spec["layers"][-1]["params"] | head == spec["layers"][-1]["params"]
    report = validate_spec(spec)
    assert report.ok and report.input_shape == (7,) and report.output_shape == (head["units"],)


@pytest.mark.parametrize("shape", [[8, 8, 1], [1, 1, 1], [2, 3, 1], [5, 7, 3], [31, 31, 3], [32, 32, 3], [64, 48, 3]])
def test_every_image_preset_fits_images_of_any_size(shape: list[int]) -> None:
    fitted = fitting_presets(input_shape=shape, task="classification", n_outputs=10)
    assert set(fitted) == {"mlp", "small_cnn", "lenet5", "residual_cnn"}
    for name, spec in fitted.items():
        report = validate_spec(spec)
        assert report.ok, (name, shape, [str(e) for e in report.errors])
        assert report.input_shape == tuple(shape) and report.output_shape == (10,)


def test_lenet_keeps_its_published_form_at_32x32() -> None:
    spec = fit_preset("lenet5", input_shape=[32, 32, 1], task="classification", n_outputs=10)
    assert validate_spec(spec).total_params == 61_706


def test_a_text_preset_reads_the_vocabulary_and_sequence_length() -> None:
    spec = fit_preset("text_lstm", input_shape=[23], task="classification", n_outputs=4, vocab_size=321)
    assert spec["input"]["shape"] == [23]
    assert spec["layers"][0]["params"]["input_dim"] == 321
    report = validate_spec(spec)
    assert report.ok and report.output_shape == (4,)


def test_the_transformer_takes_the_vocabulary_and_its_positions_follow_the_sequence_length() -> None:
    spec = fit_preset("text_transformer", input_shape=[23], task="classification", n_outputs=2, vocab_size=321)
    assert spec["layers"][0]["params"] == {"input_dim": 321, "output_dim": 64}
    assert spec["layers"][-1]["params"] == {"units": 1, "activation": "sigmoid"}
    report = validate_spec(spec)
    assert report.ok and report.output_shape == (1,)
    assert report.layers[0].output_shape == (23, 64) and report.layers[0].params == (321 + 23) * 64


def test_presets_that_do_not_suit_the_data_are_refused_with_the_ones_that_do() -> None:
    with pytest.raises(PresetError, match="small_cnn.*does not suit table data.*mlp"):
        fit_preset("small_cnn", input_shape=[4], task="classification", n_outputs=3)
    with pytest.raises(PresetError, match="no preset 'nope'"):
        fit_preset("nope", input_shape=[4], task="classification", n_outputs=3)
    with pytest.raises(PresetError, match="at least 2 classes"):
        fit_preset("mlp", input_shape=[4], task="classification", n_outputs=1)
    assert set(fitting_presets(input_shape=[9], task="classification", n_outputs=2, vocab_size=50)) == {"text_lstm", "text_fasttext", "text_transformer"}
    assert set(fitting_presets(input_shape=[9], task="regression", n_outputs=1)) == {"mlp"}
