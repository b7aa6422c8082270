"""Keras <-> torch weights for the modules the generators write, as numpy arrays only.

Keras weights are given per layer id, in ``layer.get_weights()`` order; torch weights are
a ``state_dict`` of numpy arrays (``{k: v.numpy() for k, v in model.state_dict().items()}``).
What changes between the two:

- kernels: Dense (in, out) -> (out, in); Conv1D (k, in, out) -> (out, in, k);
  Conv2D (kh, kw, in, out) -> (out, in, kh, kw);
- LSTM: one Keras bias -> torch bias_ih, with zeros in bias_hh (summed going back);
  the gate order (i, f, c, o) is the same;
- GRU: gate order z, r, h (Keras) <-> r, z, n (torch); Keras's reset_after=True bias rows
  are torch's bias_ih and bias_hh;
- BatchNormalization: gamma, beta, moving mean, moving variance <-> weight, bias,
  running_mean, running_var (plus torch's num_batches_tracked counter);
- PositionalEmbedding: the tokens and positions tables, as they are;
- MultiHeadAttention: Keras's query, key and value kernels (features, heads, key_dim) are
  the rows of torch's in_proj_weight (3 x heads*key_dim, features), their biases
  in_proj_bias; the output kernel (heads, key_dim, features) is out_proj.weight transposed;
- Flatten needs nothing: the generated torch code flattens in channels-last order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from builder.spec.report import ResolvedLayer
from builder.spec.validate import resolve

Arrays = list[np.ndarray]


def _t(array: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(array, axes))


def _swap_gru_gates(array: np.ndarray) -> np.ndarray:
    """Swap the first two gate blocks on the last axis: (z, r, h) <-> (r, z, n)."""
    first, second, third = np.split(array, 3, axis=-1)
    return np.ascontiguousarray(np.concatenate([second, first, third], axis=-1))


def _rnn_to_torch(kind: str, weights: Sequence[np.ndarray], suffix: str) -> dict[str, np.ndarray]:
    kernel, recurrent, bias = weights
    if kind == "LSTM":
        return {
            f"weight_ih_l0{suffix}": _t(kernel),
            f"weight_hh_l0{suffix}": _t(recurrent),
            f"bias_ih_l0{suffix}": np.array(bias),
            f"bias_hh_l0{suffix}": np.zeros_like(bias),
        }
    return {
        f"weight_ih_l0{suffix}": _t(_swap_gru_gates(kernel)),
        f"weight_hh_l0{suffix}": _t(_swap_gru_gates(recurrent)),
        f"bias_ih_l0{suffix}": _swap_gru_gates(bias[0]),
        f"bias_hh_l0{suffix}": _swap_gru_gates(bias[1]),
    }


def _rnn_to_keras(kind: str, state: Mapping[str, np.ndarray], suffix: str) -> Arrays:
    w_ih, w_hh = state[f"weight_ih_l0{suffix}"], state[f"weight_hh_l0{suffix}"]
    b_ih, b_hh = state[f"bias_ih_l0{suffix}"], state[f"bias_hh_l0{suffix}"]
    if kind == "LSTM":
        return [_t(w_ih), _t(w_hh), np.asarray(b_ih) + np.asarray(b_hh)]
    return [
        _swap_gru_gates(_t(w_ih)),
        _swap_gru_gates(_t(w_hh)),
        np.stack([_swap_gru_gates(np.asarray(b_ih)), _swap_gru_gates(np.asarray(b_hh))]),
    ]


def _attention_to_torch(weights: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    kernels, biases = weights[0:6:2], weights[1:6:2]
    features = kernels[0].shape[0]
    out_kernel, out_bias = weights[6], weights[7]
    return {
        "in_proj_weight": np.concatenate([_t(k.reshape(features, -1)) for k in kernels]),
        "in_proj_bias": np.concatenate([b.reshape(-1) for b in biases]),
        "out_proj.weight": _t(out_kernel.reshape(-1, features)),
        "out_proj.bias": np.array(out_bias),
    }


def _attention_to_keras(layer: ResolvedLayer, state: Mapping[str, np.ndarray]) -> Arrays:
    heads, key_dim = layer.params.num_heads, layer.params.key_dim  # type: ignore[attr-defined]
    features = layer.input_shapes[0][-1]
    weights: Arrays = []
    for kernel, bias in zip(
        np.split(np.asarray(state["in_proj_weight"]), 3), np.split(np.asarray(state["in_proj_bias"]), 3), strict=True
    ):
        weights += [_t(kernel).reshape(features, heads, key_dim), bias.reshape(heads, key_dim)]
    out_kernel = _t(np.asarray(state["out_proj.weight"])).reshape(heads, key_dim, features)
    return [*weights, out_kernel, np.array(state["out_proj.bias"])]


# Conv2DTranspose: Keras (kh, kw, out, in) <-> torch (in, out, kh, kw), the same permutation as
# Conv2D's since both hold the axes the other way round (no kernel flip: both are conv2d's gradient).
KERNEL_AXES = {"Dense": (1, 0), "Conv1D": (2, 1, 0), "Conv2D": (3, 2, 0, 1), "Conv2DTranspose": (3, 2, 0, 1)}
# The inverse permutations, torch -> Keras.
KERNEL_AXES_BACK = {"Dense": (1, 0), "Conv1D": (2, 1, 0), "Conv2D": (2, 3, 1, 0), "Conv2DTranspose": (2, 3, 1, 0)}


def layer_to_torch(layer: ResolvedLayer, weights: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """One layer's Keras weights as torch state-dict entries (keys without the layer prefix)."""
    kind = layer.type
    if kind in KERNEL_AXES:
        state = {"weight": _t(weights[0], KERNEL_AXES[kind])}
        if len(weights) > 1:
            state["bias"] = np.array(weights[1])
        return state
    if kind == "BatchNormalization":
        gamma, beta, mean, variance = weights
        return {
            "weight": np.array(gamma),
            "bias": np.array(beta),
            "running_mean": np.array(mean),
            "running_var": np.array(variance),
            "num_batches_tracked": np.array(0, dtype=np.int64),
        }
    if kind == "LayerNormalization":
        return {"weight": np.array(weights[0]), "bias": np.array(weights[1])}
    if kind == "Embedding":
        return {"weight": np.array(weights[0])}
    if kind == "PositionalEmbedding":
        return {"tokens.weight": np.array(weights[0]), "positions.weight": np.array(weights[1])}
    if kind == "MultiHeadAttention":
        return _attention_to_torch(weights)
    if kind in ("LSTM", "GRU"):
        return _rnn_to_torch(kind, weights, "")
    if kind == "Bidirectional":
        inner = layer.params.layer.type  # type: ignore[attr-defined]
        return _rnn_to_torch(inner, weights[:3], "") | _rnn_to_torch(inner, weights[3:], "_reverse")
    if weights:
        raise ValueError(f"layer {layer.id!r} ({kind}) has no weights to convert, but {len(weights)} were given")
    return {}


def layer_to_keras(layer: ResolvedLayer, state: Mapping[str, np.ndarray]) -> Arrays:
    """One layer's torch entries (keys without the layer prefix) as Keras get_weights() arrays."""
    kind = layer.type
    if kind in KERNEL_AXES:
        weights = [_t(state["weight"], KERNEL_AXES_BACK[kind])]
        if "bias" in state:
            weights.append(np.array(state["bias"]))
        return weights
    if kind == "BatchNormalization":
        return [np.array(state[k]) for k in ("weight", "bias", "running_mean", "running_var")]
    if kind == "LayerNormalization":
        return [np.array(state["weight"]), np.array(state["bias"])]
    if kind == "Embedding":
        return [np.array(state["weight"])]
    if kind == "PositionalEmbedding":
        return [np.array(state["tokens.weight"]), np.array(state["positions.weight"])]
    if kind == "MultiHeadAttention":
        return _attention_to_keras(layer, state)
    if kind in ("LSTM", "GRU"):
        return _rnn_to_keras(kind, state, "")
    if kind == "Bidirectional":
        inner = layer.params.layer.type  # type: ignore[attr-defined]
        return _rnn_to_keras(inner, state, "") + _rnn_to_keras(inner, state, "_reverse")
    return []


def keras_to_torch_state(spec: Any, keras_weights: Mapping[str, Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
    """Keras weights per layer id -> a torch state dict (numpy) for the generated module."""
    state: dict[str, np.ndarray] = {}
    for layer in resolve(spec).layers:
        for key, value in layer_to_torch(layer, keras_weights.get(layer.id, [])).items():
            state[f"{layer.id}.{key}"] = value
    return state


def torch_to_keras(spec: Any, torch_state: Mapping[str, np.ndarray]) -> dict[str, Arrays]:
    """A torch state dict (numpy) -> Keras weights per layer id, for ``layer.set_weights``."""
    weights: dict[str, Arrays] = {}
    for layer in resolve(spec).layers:
        prefix = f"{layer.id}."
        own = {k[len(prefix) :]: np.asarray(v) for k, v in torch_state.items() if k.startswith(prefix)}
        arrays = layer_to_keras(layer, own)
        if arrays:
            weights[layer.id] = arrays
    return weights
