"""The inference form of a spec drops augmentation layers and rewires their readers."""

from __future__ import annotations

from builder.spec import validate_spec
from builder.spec.inference import without_augmentation


def layer(layer_id: str, layer_type: str, inputs: list[str] | None = None, **params: object) -> dict:
    out: dict = {"id": layer_id, "type": layer_type, "params": params}
    if inputs is not None:
        out["inputs"] = inputs
    return out


def spec(*layers: dict) -> dict:
    return {"format": 1, "name": "s", "input": {"shape": [8, 8, 3]}, "layers": list(layers)}


def test_a_chain_stays_a_chain_without_its_augmentation() -> None:
    original = spec(layer("flip", "RandomFlip"), layer("turn", "RandomRotation", factor=0.1),
                    layer("conv", "Conv2D", filters=2, kernel_size=3), layer("gap", "GlobalAveragePooling2D"))  # fmt: skip
    stripped = without_augmentation(original)
    assert [item["id"] for item in stripped["layers"]] == ["conv", "gap"]
    assert all("inputs" not in item for item in stripped["layers"])
    assert validate_spec(stripped).resolved.is_chain
    assert len(original["layers"]) == 4  # the original is untouched


def test_readers_of_an_augmentation_layer_read_its_input_in_a_dag() -> None:
    original = spec(
        layer("conv", "Conv2D", filters=3, kernel_size=1),
        layer("contrast", "RandomContrast", ["input"], factor=0.2),
        layer("sum", "Add", ["conv", "contrast"]),
        layer("gap", "GlobalMaxPooling2D"),
    )
    stripped = without_augmentation(original)
    assert [item["id"] for item in stripped["layers"]] == ["conv", "sum", "gap"]
    assert stripped["layers"][1]["inputs"] == ["conv", "input"]
    assert validate_spec(stripped).ok
    only = spec(layer("flip", "RandomFlip"))
    assert without_augmentation(only) == only
