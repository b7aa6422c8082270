"""The generated Keras and torch models agree with the registry and with each other.

For every registered layer type (several variants each) and every preset: parameter
counts, inferred shapes and, with converted weights, outputs within 1e-4 in both
directions (Keras -> torch and torch -> Keras).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from builder.codegen import generate_keras, generate_torch, torch_input_permutation
from builder.codegen.guard import load_module
from builder.spec import REGISTRY, presets, validate_spec
from builder.spec.presets import ground_truth
from tests.codegen.cases import LAYER_CASES, case_ids
from tests.support.weight_convert import keras_to_torch_state, torch_to_keras

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BATCH = 3
TOLERANCE = 1e-4


def frameworks() -> tuple[Any, Any]:
    import keras
    import torch

    torch.set_num_threads(1)
    return keras, torch


def sample_input(report: Any, spec: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    shape = (BATCH, *report.input_shape)
    embeddings = [layer for layer in spec["layers"] if layer["type"] in ("Embedding", "PositionalEmbedding")]
    if embeddings:
        vocabulary = embeddings[0]["params"]["input_dim"]
        return rng.integers(0, vocabulary, size=shape).astype("int32")
    return rng.normal(size=shape).astype("float32")


def randomize_keras(model: Any, rng: np.random.Generator) -> None:
    """Random weights everywhere (Keras starts biases and statistics at 0/1, which hides bugs)."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        fresh = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in weights]
        if type(layer).__name__ == "BatchNormalization":
            fresh[3] = rng.uniform(0.5, 1.5, size=weights[3].shape).astype("float32")
        layer.set_weights(fresh)


def keras_weights(model: Any) -> dict[str, list[np.ndarray]]:
    return {layer.name: layer.get_weights() for layer in model.layers if layer.get_weights()}


def to_torch_layout(x: np.ndarray, permutation: tuple[int, ...] | None) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(permutation)) if permutation else x


def from_torch_layout(y: np.ndarray) -> np.ndarray:
    # Image outputs come back NCHW; the spec (and Keras) are channels-last.
    return y.transpose(0, 2, 3, 1) if y.ndim == 4 else y


def check_equivalence(spec: dict[str, Any]) -> None:
    keras, torch = frameworks()
    rng = np.random.default_rng(0)
    report = validate_spec(spec)
    assert report.ok, [str(e) for e in report.errors]

    keras_model = load_module(generate_keras(spec), "generated_keras").build_model()
    torch_model = load_module(generate_torch(spec), "generated_torch").build_model().eval()

    # Parameter counts: the registry against both frameworks.
    trainable = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in keras_model.non_trainable_weights)
    assert (trainable, frozen) == (report.trainable_params, report.non_trainable_params)
    torch_params = sum(p.numel() for p in torch_model.parameters())
    statistics = sum(b.numel() for n, b in torch_model.named_buffers() if n.endswith(("running_mean", "running_var")))
    assert torch_params == report.trainable_params + report.torch_extra_params
    assert statistics == report.non_trainable_params

    # Inferred shapes: every layer against Keras's symbolic shapes.
    for layer in report.layers:
        assert tuple(keras_model.get_layer(layer.id).output.shape[1:]) == layer.output_shape, layer.id

    # Keras -> torch.
    randomize_keras(keras_model, rng)
    x = sample_input(report, spec, rng)
    permutation = torch_input_permutation(spec)
    expected = np.asarray(keras_model(x, training=False))
    state = keras_to_torch_state(spec, keras_weights(keras_model))
    torch_model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, strict=True)
    with torch.no_grad():
        actual = from_torch_layout(torch_model(torch.from_numpy(to_torch_layout(x, permutation))).numpy())
    assert expected.shape[1:] == actual.shape[1:] == report.output_shape
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0)

    # ... and back: the converter round-trips Keras weights exactly.
    back = torch_to_keras(spec, state)
    for layer_id, arrays in keras_weights(keras_model).items():
        for got, want in zip(back[layer_id], arrays, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-7)

    # torch -> Keras, starting from torch's own (random) initialisation.
    fresh = load_module(generate_torch(spec), "generated_torch").build_model().eval()
    for name, buffer in fresh.named_buffers():
        if name.endswith("running_mean"):
            buffer.copy_(torch.randn_like(buffer))
        elif name.endswith("running_var"):
            buffer.copy_(torch.rand_like(buffer) + 0.5)
    with torch.no_grad():
        torch_out = from_torch_layout(fresh(torch.from_numpy(to_torch_layout(x, permutation))).numpy())
    torch_state = {k: v.numpy() for k, v in fresh.state_dict().items()}
    for layer_id, arrays in torch_to_keras(spec, torch_state).items():
        keras_model.get_layer(layer_id).set_weights(arrays)
    np.testing.assert_allclose(np.asarray(keras_model(x, training=False)), torch_out, atol=TOLERANCE, rtol=0)
    keras.backend.clear_session()


def test_every_registered_type_has_cases() -> None:
    assert set(LAYER_CASES) == set(REGISTRY)


@pytest.mark.parametrize(("case", "spec"), case_ids(), ids=[c for c, _ in case_ids()])
def test_layer_equivalence(case: str, spec: dict[str, Any]) -> None:
    check_equivalence(spec)


PRESETS = presets() | {f"ground_truth_{name}": spec for name, (spec, _) in ground_truth().items()}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_equivalence(name: str) -> None:
    check_equivalence(PRESETS[name])


@pytest.mark.parametrize("name", sorted(ground_truth()))
def test_ground_truth_counts_in_both_frameworks(name: str) -> None:
    keras, _ = frameworks()
    spec, published = ground_truth()[name]
    keras_model = load_module(generate_keras(spec), "generated_keras").build_model()
    torch_model = load_module(generate_torch(spec), "generated_torch").build_model()
    assert keras_model.count_params() == published
    assert sum(p.numel() for p in torch_model.parameters()) == published
    keras.backend.clear_session()
