"""One reading of a model's output (builder/codegen/scripts/heads.py) for every head the
validator accepts, and both frameworks' training losses agreeing with it: the loss a job
minimises is minus the log of the probability that evaluation, the predict endpoint, the
predict page and the bundle's predict.py all report for the true class."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from builder.codegen.scripts import output_kind, output_units
from builder.codegen.scripts.heads import class_probabilities, head
from builder.spec import resolve
from workers.hyperparameters import parse_hyperparameters
from workers.training.context import JobContext

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# (activation, units) -> raw outputs for two samples, and the probabilities every path reports.
CASES: dict[str, tuple[str, np.ndarray, list[list[float]]]] = {
    "softmax over 3": ("softmax", np.array([[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]]), [[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]]),
    "sigmoid over 1": ("sigmoid", np.array([[0.25], [0.9]]), [[0.75, 0.25], [0.1, 0.9]]),
    # The case that disagreed: the server read [0.525, 0.475] (as logits), the bundle [0.9, 0.8].
    "sigmoid over 2": ("sigmoid", np.array([[0.9, 0.8], [0.1, 0.3]]), [[0.9 / 1.7, 0.8 / 1.7], [0.25, 0.75]]),
    "linear over 1 (a logit)": ("linear", np.array([[0.0], [np.log(3.0)]]), [[0.5, 0.5], [0.25, 0.75]]),
    "linear over 3 (logits)": ("linear", np.array([[1.0, 1.0, np.log(2.0)], [0.0, 0.0, 0.0]]),
                               [[np.e / (2 * np.e + 2), np.e / (2 * np.e + 2), 2 / (2 * np.e + 2)], [1 / 3] * 3]),
}  # fmt: skip
LABELS = np.array([1, 0])


def spec(activation: str, units: int) -> dict[str, Any]:
    return {"format": 1, "name": "head", "input": {"shape": [4]},
            "layers": [{"id": "out", "type": "Dense", "params": {"units": units, "activation": activation}}]}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_head_is_read_as_one_set_of_class_probabilities(name: str) -> None:
    activation, outputs, expected = CASES[name]
    resolved = resolve(spec(activation, outputs.shape[1]))
    assert output_kind(resolved) == head(activation) and output_units(resolved) == outputs.shape[1]
    probabilities = class_probabilities(outputs.astype(np.float32), output_kind(resolved))
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_a_large_logit_is_read_without_overflow() -> None:
    np.testing.assert_allclose(class_probabilities(np.array([[800.0], [-800.0]]), "linear"), [[0, 1], [1, 0]])


def context(activation: str, units: int) -> JobContext:
    params = parse_hyperparameters({})
    kind = head(activation)
    return JobContext(job_id=0, framework="torch", spec={}, hp=params, task="classification",
                      class_names=["a", "b", "c"][: max(units, 2)], output_kind=kind,
                      loss=params.resolved_loss("classification", units), input_dtype="float32",
                      dataset_dir=Path("."), job_dir=Path("."), checkpoint_owner={})  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_frameworks_train_on_the_probabilities_every_path_reports(name: str) -> None:
    """The training loss is the mean of -log p(true class) under the one reading, in both frameworks."""
    import keras
    import torch

    from workers.training import keras_runner, torch_runner

    activation, outputs, expected = CASES[name]
    units = outputs.shape[1]
    ctx = context(activation, units)
    wanted = float(-np.log(np.asarray(expected)[np.arange(2), LABELS]).mean())
    y = LABELS.astype(np.float32 if ctx.loss == "binary_crossentropy" else np.int64)
    torch_loss = float(torch_runner.loss_fn(ctx)(torch.tensor(outputs, dtype=torch.float32), torch.tensor(y)))
    target = y.reshape(-1, 1) if ctx.loss == "binary_crossentropy" else y
    keras_loss = float(keras.ops.convert_to_numpy(keras_runner.loss(ctx)(target, outputs.astype(np.float32))))
    assert torch_loss == pytest.approx(wanted, rel=1e-5), (ctx.loss, torch_loss, wanted)
    assert keras_loss == pytest.approx(wanted, rel=1e-5), (ctx.loss, keras_loss, wanted)
