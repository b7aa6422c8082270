"""How a model's output is read: one function names the head, one turns outputs into class
probabilities.

Every path reads the output through this file: training picks its loss to match it
(workers/training), the worker's evaluation and test_predictions.csv, the predict endpoint and
the predict page (serving/predict.py), and the code bundle's predict.py (the bundle ships this
file beside dataio.py, so it needs only numpy).

Heads, for classification:
- softmax over N units: the outputs are the class probabilities;
- sigmoid over 1 unit: the probability of the second class;
- sigmoid over N units: one probability per class, read (and trained) as each one's share of
  their sum, so that the N add up to one answer;
- linear over 1 unit: the logit of the second class; over N units: logits (softmax).
For regression the linear output is the value itself and is not read here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

HEADS = ("softmax", "sigmoid", "linear")


def head(activation: str | None) -> str:
    """The head of a last layer with this activation: "softmax", "sigmoid" or "linear"."""
    return activation if activation in ("softmax", "sigmoid") else "linear"


def class_probabilities(outputs: Any, head_name: str) -> np.ndarray:
    """(n, classes) probabilities from the model's raw outputs (n, units); two classes for one unit."""
    import numpy as np  # here, not at the top: builder.codegen names heads and stays pure Python

    if head_name not in HEADS:
        raise ValueError(f"unknown head {head_name!r}; one of {', '.join(HEADS)}")
    out = np.asarray(outputs, dtype=np.float64)
    out = out.reshape(len(out), -1)
    if head_name == "softmax":
        return out
    if out.shape[1] == 1:
        # tanh form of the logistic function: no overflow for large logits
        p = out[:, 0] if head_name == "sigmoid" else 0.5 * (1.0 + np.tanh(0.5 * out[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    if head_name == "sigmoid":
        total = out.sum(axis=1, keepdims=True)
        return out / np.where(total > 0, total, 1.0)
    shifted = np.exp(out - out.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
