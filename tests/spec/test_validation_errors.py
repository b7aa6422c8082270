"""Every kind of problem is reported, all at once, naming the layer and parameter and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from builder.spec import Limits, SpecError, presets, validate_spec
from builder.spec.validate import ERROR_CODES


def spec(*layers: dict[str, Any], shape: list[int] | None = None) -> dict[str, Any]:
    return {"format": 1, "name": "t", "input": {"shape": shape or [28, 28, 1]}, "layers": list(layers)}


def layer(layer_id: str, layer_type: str, inputs: list[str] | None = None, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"id": layer_id, "type": layer_type, "params": params}
    if inputs is not None:
        result["inputs"] = inputs
    return result


def errors(document: Any, **kwargs: Any) -> list[SpecError]:
    report = validate_spec(document, **kwargs)
    assert not report.ok
    assert report.resolved is None
    for error in report.errors:
        assert error.code in ERROR_CODES
        assert error.message
    return report.errors


def only(document: Any, code: str) -> SpecError:
    found = [e for e in errors(document) if e.code == code]
    assert len(found) == 1, [str(e) for e in errors(document)]
    return found[0]


OUT = layer("out", "Dense", units=2)


def test_unknown_type_suggests_the_right_name() -> None:
    error = only(spec(layer("fc", "dense", units=3)), "unknown_type")
    assert error.layer_id == "fc"
    assert "'Dense'" in error.message


def test_unknown_parameter_suggests_the_right_name() -> None:
    error = only(spec(layer("flat", "Flatten"), layer("fc", "Dense", units=3, activaton="relu")), "unknown_param")
    assert (error.layer_id, error.param) == ("fc", "activaton")
    assert "did you mean 'activation'" in error.message


def test_missing_required_parameter() -> None:
    error = only(spec(layer("flat", "Flatten"), layer("fc", "Dense")), "missing_param")
    assert (error.layer_id, error.param) == ("fc", "units")
    assert "add it" in error.message


@pytest.mark.parametrize("value", ["3", 3.0, True, None, [3]])
def test_wrong_type(value: Any) -> None:
    # Strict JSON types: no "3" -> 3 or true -> 1 coercion.
    error = only(spec(layer("flat", "Flatten"), layer("fc", "Dense", units=value)), "wrong_type")
    assert (error.layer_id, error.param) == ("fc", "units")


@pytest.mark.parametrize(("params", "param"), [({"units": 0}, "units"), ({"units": 10**30}, "units")])
def test_out_of_range(params: dict[str, Any], param: str) -> None:
    error = only(spec(layer("flat", "Flatten"), layer("fc", "Dense", **params)), "out_of_range")
    assert (error.layer_id, error.param) == ("fc", param)


def test_out_of_range_float_and_nan() -> None:
    found = errors(spec(layer("d1", "Dropout", rate=1.5), layer("d2", "Dropout", rate=float("nan"))))
    assert [(e.layer_id, e.code) for e in found] == [("d1", "out_of_range"), ("d2", "out_of_range")]


def test_invalid_choice() -> None:
    error = only(spec(layer("c", "Conv2D", filters=2, kernel_size=3, padding="full")), "invalid_choice")
    assert error.param == "padding"
    assert "'same'" in error.message


def test_nested_bidirectional_parameters() -> None:
    bad = layer("bi", "Bidirectional", layer={"type": "LSTM", "params": {"units": -1}})
    error = only(spec(bad, shape=[5, 3]), "out_of_range")
    assert error.param == "layer.params.units"
    wrong = layer("bi", "Bidirectional", layer={"type": "Dense", "params": {"units": 3}})
    assert only(spec(wrong, shape=[5, 3]), "invalid_choice").param == "layer"


def test_duplicate_id() -> None:
    error = only(spec(layer("a", "Flatten"), layer("a", "Dense", units=2)), "duplicate_id")
    assert "layer 1" in error.message


@pytest.mark.parametrize(
    "bad_id", ["1st", "has space", "a-b", "", "x" * 65, "class", "input", "forward", "_private", 7]
)
def test_malformed_or_reserved_id(bad_id: Any) -> None:
    error = only(spec({"id": bad_id, "type": "Flatten"}), "invalid_id")
    assert error.layer_id is None
    assert error.path == "layers[0].id"


def test_dangling_input() -> None:
    error = only(spec(layer("flat", "Flatten"), layer("out", "Dense", ["flatt"], units=2)), "unknown_input")
    assert (error.layer_id, error.param) == ("out", "inputs")
    assert "did you mean 'flat'" in error.message


def test_cyclic_inputs() -> None:
    found = errors(
        spec(
            layer("a", "Dense", ["b"], units=2),
            layer("b", "Dense", ["a"], units=2),
            shape=[4],
        )
    )
    assert ("a", "cyclic_inputs") in [(e.layer_id, e.code) for e in found]


def test_self_reference_is_a_cycle() -> None:
    assert only(spec(layer("a", "Dense", ["a"], units=2), shape=[4]), "cyclic_inputs").layer_id == "a"


def test_forward_reference_without_cycle() -> None:
    error = only(
        spec(
            layer("a", "Dense", ["input"], units=2),
            layer("b", "Add", ["a", "c"]),
            layer("c", "Dense", ["a"], units=2),
            shape=[4],
        ),
        "forward_reference",
    )
    assert error.layer_id == "b"
    assert "move 'c'" in error.message


def test_conv2d_after_flatten() -> None:
    error = only(spec(layer("flat", "Flatten"), layer("conv", "Conv2D", filters=2, kernel_size=3)), "shape_mismatch")
    assert error.layer_id == "conv"
    assert "(784,)" in error.message and "Flatten" in error.message


def test_list_item_errors_name_the_parameter() -> None:
    error = only(spec(layer("pool", "MaxPooling2D", pool_size=[3, 99])), "out_of_range")
    assert (error.param, error.path) == ("pool_size", "layers[0].params.pool_size[1]")


@pytest.mark.parametrize(
    ("bad", "param"),
    [
        (layer("conv", "Conv2D", filters=2, kernel_size=29), "kernel_size"),
        (layer("conv", "Conv2D", filters=2, kernel_size=[3, 30], padding="same"), "kernel_size"),
        (layer("pool", "MaxPooling2D", pool_size=29), "pool_size"),
    ],
)
def test_window_larger_than_input(bad: dict[str, Any], param: str) -> None:
    error = only(spec(bad), "shape_mismatch")
    assert error.param == param
    assert "at most 28" in error.message


def test_pool_after_downsampling_reports_the_small_input() -> None:
    document = spec(
        layer("p1", "MaxPooling2D", pool_size=8),
        layer("p2", "MaxPooling2D", pool_size=8),
    )
    error = only(document, "shape_mismatch")
    assert error.layer_id == "p2"
    assert "(3, 3, 1)" in error.message


def test_add_of_unequal_shapes() -> None:
    document = spec(
        layer("a", "Dense", units=3),
        layer("b", "Dense", ["input"], units=4),
        layer("sum", "Add", ["a", "b"]),
        shape=[8],
    )
    error = only(document, "shape_mismatch")
    assert error.layer_id == "sum"
    assert "(3,), (4,)" in error.message


def test_concatenate_on_mismatched_axis() -> None:
    document = spec(
        layer("a", "Conv2D", filters=2, kernel_size=3),
        layer("b", "Conv2D", ["input"], filters=2, kernel_size=5),
        layer("cat", "Concatenate", ["a", "b"]),
    )
    error = only(document, "shape_mismatch")
    assert (error.layer_id, error.param) == ("cat", "axis")


def test_concatenate_axis_out_of_range_for_rank() -> None:
    document = spec(
        layer("a", "Dense", units=2),
        layer("cat", "Concatenate", ["input", "a"], axis=2),
        shape=[4],
    )
    assert only(document, "shape_mismatch").param == "axis"


def test_lstm_on_2d_input() -> None:
    error = only(spec(layer("lstm", "LSTM", units=4), shape=[10]), "shape_mismatch")
    assert error.layer_id == "lstm"
    assert "sequence" in error.message and "(10,)" in error.message


def test_unused_branch() -> None:
    document = spec(
        layer("a", "Dense", units=3),
        layer("side", "Dense", ["input"], units=3),
        layer("out", "Dense", ["a"], units=2),
        shape=[4],
    )
    error = only(document, "unused_layer")
    assert error.layer_id == "side"
    assert "'out'" in error.message


def test_merge_layer_needs_two_inputs() -> None:
    assert only(spec(layer("a", "Dense", units=3), layer("sum", "Add"), shape=[4]), "wrong_input_count")
    document = spec(layer("a", "Dense", units=3), layer("b", "Dense", ["input", "a"], units=3), shape=[3])
    assert only(document, "wrong_input_count").layer_id == "b"


def test_embedding_must_read_token_ids() -> None:
    document = spec(
        layer("fc", "Dense", units=3),
        layer("embed", "Embedding", input_dim=10, output_dim=2),
        shape=[4],
    )
    assert only(document, "embedding_input").layer_id == "embed"


def test_positional_embedding_must_read_token_ids_and_nothing_else_may() -> None:
    moved = spec(
        layer("d", "Dropout", rate=0.1), layer("embed", "PositionalEmbedding", input_dim=10, output_dim=2), shape=[4]
    )
    error = only(moved, "embedding_input")
    assert error.layer_id == "embed" and error.message.startswith("PositionalEmbedding layer 'embed'")
    beside = spec(
        layer("embed", "PositionalEmbedding", input_dim=10, output_dim=2),
        layer("fc", "Dense", ["input"], units=2),
        layer("cat", "Concatenate", ["embed", "fc"], axis=1),
        shape=[4],
    )
    error = only(beside, "embedding_input")
    assert error.layer_id == "fc" and "because a PositionalEmbedding reads it" in error.message


def test_attention_heads_must_split_the_features() -> None:
    def attention(**params: Any) -> dict[str, Any]:
        embed = layer("embed", "Embedding", input_dim=10, output_dim=12)
        return spec(embed, layer("attn", "MultiHeadAttention", **params), shape=[5])

    assert validate_spec(attention(num_heads=3, key_dim=4)).ok
    error = only(attention(num_heads=3, key_dim=12), "shape_mismatch")
    assert (error.layer_id, error.param, error.path) == ("attn", "key_dim", "layers[1].params.key_dim")
    assert "3 x 12 = 36, but the input has 12 features" in error.message
    assert "set key_dim to 4" in error.message
    error = only(attention(num_heads=5, key_dim=2), "shape_mismatch")
    assert "choose num_heads among 1, 2, 3, 4, 6, 12" in error.message
    flat = only(spec(layer("attn", "MultiHeadAttention", num_heads=1, key_dim=4), shape=[4]), "shape_mismatch")
    assert "needs a sequence (timesteps, features) but gets (4,)" in flat.message
    assert only(attention(num_heads=0, key_dim=4), "out_of_range").param == "num_heads"
    assert only(attention(num_heads=2, key_dim=6, dropout=1.0), "out_of_range").param == "dropout"


def test_limits_are_configurable() -> None:
    big = spec(layer("flat", "Flatten"), layer("fc", "Dense", units=1000))
    assert validate_spec(big).ok
    error = errors(big, limits=Limits(max_params=100_000))[0]
    assert error.code == "too_many_params"
    many = spec(*[layer(f"d{i}", "Dropout", rate=0.1) for i in range(5)])
    assert errors(many, limits=Limits(max_layers=4))[0].code == "too_many_layers"


def test_default_limits() -> None:
    assert Limits() == Limits(max_layers=200, max_params=100_000_000, max_input_values=10_000_000)
    too_many = spec(*[layer(f"d{i}", "Dropout", rate=0.1) for i in range(201)])
    assert errors(too_many)[0].code == "too_many_layers"
    huge = spec(layer("flat", "Flatten"), layer("fc", "Dense", units=65_536), layer("fc2", "Dense", units=65_536))
    assert [e.code for e in errors(huge)] == ["too_many_params"]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ([], "not_an_object"),
        ("spec", "not_an_object"),
        ({"input": {"shape": [3]}, "layers": [OUT]}, "missing_field"),
        ({"format": 2, "input": {"shape": [3]}, "layers": [OUT]}, "unsupported_format"),
        ({"format": 1, "input": {"shape": [3]}, "layers": [OUT], "extra": 1}, "unknown_field"),
        ({"format": 1, "layers": [OUT]}, "missing_field"),
        ({"format": 1, "input": [3], "layers": [OUT]}, "invalid_input"),
        ({"format": 1, "input": {"shape": [0]}, "layers": [OUT]}, "invalid_input_shape"),
        ({"format": 1, "input": {"shape": [2, 2, 2, 2]}, "layers": [OUT]}, "invalid_input_shape"),
        ({"format": 1, "input": {"shape": [3]}, "layers": []}, "invalid_layers"),
        ({"format": 1, "input": {"shape": [3]}, "layers": [OUT], "name": ""}, "invalid_name"),
        ({"format": 1, "input": {"shape": [3]}, "layers": ["Dense"]}, "invalid_layer"),
        ({"format": 1, "input": {"shape": [3]}, "layers": [{"type": "Dense"}]}, "missing_id"),
        ({"format": 1, "input": {"shape": [3]}, "layers": [{"id": "a"}]}, "missing_type"),
        (
            {"format": 1, "input": {"shape": [3]}, "layers": [{"id": "a", "type": "Dense", "params": 3}]},
            "invalid_params",
        ),
        (
            {"format": 1, "input": {"shape": [3]}, "layers": [{"id": "a", "type": "Flatten", "inputs": "input"}]},
            "invalid_inputs",
        ),
        (
            {"format": 1, "input": {"shape": [3]}, "layers": [{"id": "a", "type": "Flatten", "size": 1}]},
            "unknown_field",
        ),
    ],
)
def test_document_structure_errors(document: Any, code: str) -> None:
    assert code in [e.code for e in errors(document)]


def test_every_problem_is_reported_at_once_in_spec_order() -> None:
    document = {
        "format": 1,
        "input": {"shape": [28, 28, 1]},
        "layers": [
            layer("conv", "Conv2D", filters=0, kernel_size=3),
            layer("pool", "MaxPooling2D", pool_size=99),
            layer("fc", "Dense", activation="relu"),
            layer("fc", "Dense", units=2),
            layer("cat", "Concatenate", ["nowhere", "fc"]),
        ],
        "colour": "blue",
    }
    found = errors(document)
    assert [(e.layer_id, e.code) for e in found] == [
        (None, "unknown_field"),
        ("conv", "out_of_range"),
        ("pool", "out_of_range"),
        ("fc", "missing_param"),
        ("fc", "duplicate_id"),
        ("cat", "unknown_input"),
    ]


def test_valid_spec_has_no_errors() -> None:
    report = validate_spec(presets()["mlp"])
    assert report.ok and report.errors == []


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        validate_spec(presets()["mlp"], batch_size=0)


def test_a_layer_whose_output_overflows_is_invalid_however_few_its_params() -> None:
    # 2,048 parameters, but 9.2 billion values per sample: no batch of it fits any machine.
    wide = spec(layer("c", "Conv2D", filters=1024, kernel_size=1), layer("g", "GlobalAveragePooling2D"),
                layer("o", "Dense", units=2, activation="softmax"), shape=[3000, 3000, 1])  # fmt: skip
    [error] = errors(wide)
    assert (error.code, error.layer_id, error.path) == ("output_too_large", "c", "layers[0]")
    assert "9,216,000,000 values per sample" in error.message and "20,000,000" in error.message
    assert validate_spec(wide, limits=Limits(max_layer_values=10_000_000_000)).ok
