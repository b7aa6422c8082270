"""The inference form of a spec: the same model without its training-only augmentation layers.

Augmentation layers pass images through unchanged outside training, but Keras still
builds their random ops into a traced graph, which ONNX converters cannot express. The
exported files are made from this form; it holds the same weights in the same order.
"""

from __future__ import annotations

import copy
from typing import Any

from builder.spec.registry import REGISTRY

MODEL_INPUT = "input"


def is_training_only(layer_type: str) -> bool:
    return layer_type in REGISTRY and REGISTRY[layer_type].category == "augmentation"


def without_augmentation(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` with every augmentation layer removed and its readers rewired to its input.

    A spec whose output is an augmentation layer (nothing to remove it for) comes back unchanged.
    """
    layers = spec["layers"]
    if not any(is_training_only(layer["type"]) for layer in layers) or is_training_only(layers[-1]["type"]):
        return copy.deepcopy(spec)
    effective: dict[str, list[str]] = {}
    previous = MODEL_INPUT
    for layer in layers:
        effective[layer["id"]] = list(layer.get("inputs") or [previous])
        previous = layer["id"]
    removed = {layer["id"] for layer in layers if is_training_only(layer["type"])}

    def source(ref: str) -> list[str]:
        if ref not in removed:
            return [ref]
        return [s for inner in effective[ref] for s in source(inner)]

    kept: list[dict[str, Any]] = []
    previous = MODEL_INPUT
    for layer in layers:
        if layer["id"] in removed:
            continue
        inputs = [s for ref in effective[layer["id"]] for s in source(ref)]
        fresh = {k: copy.deepcopy(v) for k, v in layer.items() if k != "inputs"}
        if inputs != [previous]:
            fresh["inputs"] = inputs
        kept.append(fresh)
        previous = layer["id"]
    return {**copy.deepcopy(spec), "layers": kept}
