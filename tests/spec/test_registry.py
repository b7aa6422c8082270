"""The registry covers the required layer types, and every entry is complete and self-consistent."""

from __future__ import annotations

import json

import pytest

from builder.spec import REGISTRY, layer_catalog
from builder.spec.params import ACTIVATIONS
from builder.spec.registry import CATEGORIES

REQUIRED_TYPES = {
    "Dense", "Dropout", "Activation", "Flatten", "Reshape", "BatchNormalization", "LayerNormalization", "Conv1D",
    "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "Embedding", "LSTM", "GRU", "Bidirectional", "Add", "Concatenate",
}  # fmt: skip


def test_required_layer_types_are_registered() -> None:
    assert REQUIRED_TYPES <= set(REGISTRY)


def test_required_activations() -> None:
    assert set(ACTIVATIONS) == {
        "relu",
        "sigmoid",
        "tanh",
        "softmax",
        "gelu",
        "elu",
        "leaky_relu",
        "selu",
        "silu",
        "linear",
    }


@pytest.mark.parametrize("name", list(REGISTRY))
def test_layer_definition_is_complete(name: str) -> None:
    layer = REGISTRY[name]
    assert layer.name == name
    assert layer.category in CATEGORIES
    assert layer.help and layer.shape_rule
    schema = layer.json_schema()
    assert schema["type"] == "object"
    assert schema.get("additionalProperties") is False  # unknown parameters are errors
    for prop in schema.get("properties", {}).values():
        assert prop.get("description"), f"{name}: every parameter has help text"


def test_catalog_is_json_and_lists_every_type() -> None:
    catalog = layer_catalog()
    assert [entry["type"] for entry in catalog] == list(REGISTRY)
    json.dumps(catalog)
    dense = next(e for e in catalog if e["type"] == "Dense")
    assert dense["category"] == "core"
    assert dense["json_schema"]["properties"]["units"]["minimum"] == 1
    assert dense["json_schema"]["required"] == ["units"]


def test_palette_is_grouped_by_category() -> None:
    order = [CATEGORIES.index(REGISTRY[name].category) for name in REGISTRY]
    assert order == sorted(order)
