"""The training options, in both frameworks: the rates, weights, clipping and smoothing they
promise, checked against hand computations on the runners' own loss and optimizer code."""

from __future__ import annotations

import ast
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from builder.codegen import generate_dataio_module
from builder.codegen.scripts.schedules import PLATEAU_PATIENCE, SCHEDULES, LearningRate, balanced_class_weights
from workers.hyperparameters import parse_hyperparameters
from workers.training.context import JobContext

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def context(**hp: Any) -> JobContext:
    """A job's context as the runners' loss and optimizer functions read it (no files needed)."""
    kind = hp.pop("output_kind", None) or "softmax"
    units = hp.pop("units", 3)  # 1: a binary head (one probability or logit)
    params = parse_hyperparameters(hp)
    return JobContext(job_id=0, framework="torch", spec={}, hp=params, task="classification",
                      class_names=["a", "b", "c"], output_kind=kind, loss=params.resolved_loss("classification", units),
                      input_dtype="float32", dataset_dir=Path("."), job_dir=Path("."), checkpoint_owner={})  # fmt: skip


# --- the schedules and weights themselves (pure Python, shipped in the bundle too) ------------


def test_cosine_goes_from_the_rate_to_zero_over_the_epochs() -> None:
    rate = LearningRate("cosine", 0.1, 4)
    assert [rate.for_epoch(e) for e in range(4)] == pytest.approx([0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05,
                                                                   0.1 * (1 + math.cos(3 * math.pi / 4)) / 2])  # fmt: skip


def test_reduce_on_plateau_halves_the_rate_after_the_patience_and_keeps_its_state() -> None:
    rate = LearningRate("reduce_on_plateau", 0.01, 100)
    rates = []
    for epoch, loss in enumerate([1.0, 0.5] + [0.49999] * (PLATEAU_PATIENCE + 1)):
        rates.append(rate.for_epoch(epoch))
        rate.epoch_end(loss)  # 0.49999 is not better than 0.5 by the relative 1e-4
    # The best at epoch 2; PLATEAU_PATIENCE epochs without better: the next epoch runs at half the rate.
    assert rates == [0.01] * (PLATEAU_PATIENCE + 2) + [0.005]
    assert rate.for_epoch(99) == 0.005
    resumed = LearningRate("reduce_on_plateau", 0.01, 100)
    resumed.load(rate.state())
    assert resumed.state() == rate.state()
    assert LearningRate("none", 0.01, 3).for_epoch(2) == 0.01
    with pytest.raises(ValueError, match="lr_schedule"):
        LearningRate("step", 0.01, 3)


def test_balanced_weights_are_scikit_learns() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 2, 0, 2, 0])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    assert balanced_class_weights(y, 3) == pytest.approx(expected.tolist(), rel=1e-12)
    # A class with no training rows gets 1 (it never weighs a sample); the others as scikit-learn's.
    assert balanced_class_weights(y, 4)[:3] == pytest.approx(expected.tolist()) and balanced_class_weights(y, 4)[3] == 1


def test_the_bundle_offers_the_same_schedules_and_the_api_refuses_unknown_ones() -> None:
    tree = ast.parse(generate_dataio_module())
    offered = [ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and
               getattr(n.targets[0], "id", "") == "LR_SCHEDULES"]  # fmt: skip
    assert offered == [SCHEDULES]
    with pytest.raises(ValueError, match="lr_schedule"):
        parse_hyperparameters({"lr_schedule": "step"})
    with pytest.raises(ValueError, match="label_smoothing"):
        parse_hyperparameters({"label_smoothing": 1.0})
    with pytest.raises(ValueError, match="clipnorm"):
        parse_hyperparameters({"clipnorm": 0})


# --- the same numbers from both runners ---------------------------------------------------------

PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.25, 0.5, 0.25], [0.6, 0.3, 0.1]])
LABELS = np.array([0, 1, 0, 0, 2])


def hand_smoothed_loss(probs: np.ndarray, y: np.ndarray, smooth: float, weights: np.ndarray | None = None) -> float:
    """(1 - s) one-hot + s / classes, against log of probabilities clipped to [1e-7, 1 - 1e-7]."""
    n, classes = probs.shape
    target = np.full((n, classes), smooth / classes)
    target[np.arange(n), y] += 1 - smooth
    per_sample = -(target * np.log(np.clip(probs, 1e-7, 1 - 1e-7))).sum(axis=1)
    w = np.ones(n) if weights is None else weights[y]
    return float((per_sample * w).mean())


@pytest.mark.parametrize("smooth", [0.0, 0.2])
@pytest.mark.parametrize("class_weight", ["none", "balanced"])
def test_torch_loss_with_label_smoothing_and_class_weights_matches_the_hand_computation(smooth, class_weight) -> None:
    import torch

    from workers.training import torch_runner

    ctx = context(label_smoothing=smooth, class_weight=class_weight)
    objective = torch_runner.training_loss(ctx, LABELS, torch.device("cpu"))
    got = float(objective(torch.tensor(PROBS, dtype=torch.float32), torch.tensor(LABELS)))
    weights = np.array(balanced_class_weights(LABELS, 3)) if class_weight == "balanced" else None
    assert got == pytest.approx(hand_smoothed_loss(PROBS, LABELS, smooth, weights), rel=1e-5)
    logits = np.log(PROBS)  # a linear head: the same probabilities after softmax
    ctx = context(label_smoothing=smooth, class_weight=class_weight, output_kind="linear")
    got = float(torch_runner.training_loss(ctx, LABELS, torch.device("cpu"))(torch.tensor(logits), torch.tensor(LABELS)))
    assert got == pytest.approx(hand_smoothed_loss(PROBS, LABELS, smooth, weights), rel=1e-5)
    # Validation is never weighted: the plain (smoothed) loss.
    val = float(torch_runner.loss_fn(context(label_smoothing=smooth))(torch.tensor(PROBS), torch.tensor(LABELS)))
    assert val == pytest.approx(hand_smoothed_loss(PROBS, LABELS, smooth), rel=1e-5)


def test_torch_binary_label_smoothing_moves_the_targets_towards_a_half() -> None:
    import torch

    from workers.training import torch_runner

    p, y = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 0.0])
    ctx = context(label_smoothing=0.1, output_kind="sigmoid", units=1)
    got = float(torch_runner.loss_fn(ctx)(torch.tensor(p.reshape(-1, 1)), torch.tensor(y)))
    t = y * 0.9 + 0.05
    assert got == pytest.approx(float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()), rel=1e-6)


@pytest.mark.parametrize("smooth", [0.0, 0.2])
def test_keras_fit_with_label_smoothing_and_balanced_class_weights_matches_the_hand_computation(smooth) -> None:
    import keras

    from workers.training import keras_runner

    ctx = context(label_smoothing=smooth, class_weight="balanced", optimizer="sgd", learning_rate=1e-12)
    # A model whose output does not depend on its input: softmax(log PROBS[i]) for row i via the bias of one-hot rows.
    inputs = keras.Input((5,))
    dense = keras.layers.Dense(3, activation="softmax", use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([np.log(PROBS).astype("float32")])
    model.compile(optimizer=keras_runner.optimizer(ctx), loss=keras_runner.loss(ctx))
    x = np.eye(5, dtype="float32")
    weights = keras_runner.class_weight(ctx, LABELS)
    history = model.fit(x, LABELS, batch_size=5, epochs=1, verbose=0, shuffle=False, class_weight=weights)
    expected = hand_smoothed_loss(PROBS, LABELS, smooth, np.array(balanced_class_weights(LABELS, 3)))
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_keras_binary_label_smoothing_matches_torch() -> None:
    import keras
    import torch

    from workers.training import keras_runner, torch_runner

    p, y = np.array([[0.9], [0.2], [0.6]], dtype="float32"), np.array([1.0, 0.0, 0.0], dtype="float32")
    ctx = context(label_smoothing=0.1, output_kind="sigmoid", units=1)
    keras_value = float(keras.ops.convert_to_numpy(keras_runner.loss(ctx)(y.reshape(-1, 1), p)))
    torch_value = float(torch_runner.loss_fn(ctx)(torch.tensor(p), torch.tensor(y)))
    assert keras_value == pytest.approx(torch_value, rel=1e-5)


def test_clipnorm_bounds_the_global_gradient_norm_in_both_frameworks() -> None:
    import keras
    import torch

    from workers.training import keras_runner, torch_runner

    ctx = context(optimizer="sgd", learning_rate=1.0, clipnorm=0.5)
    # torch: one step of the runner's own step function; with SGD at rate 1 the update is the gradient.
    model = torch.nn.Linear(4, 3)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch_runner.optimizer(ctx, model)
    step = torch_runner.plain_step(model, opt, lambda out, y: (out * 100).sum(), ctx.hp.clipnorm)
    step(torch.ones(2, 4), torch.zeros(2))
    moved = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True)))
    assert float(moved) == pytest.approx(0.5, rel=1e-4)
    # Keras: the runner's optimizer applied to large gradients of two variables.
    variables = [keras.Variable(np.zeros((4, 3), "float32")), keras.Variable(np.zeros(3, "float32"))]
    opt = keras_runner.optimizer(ctx)
    opt.apply_gradients([(keras.ops.ones((4, 3)) * 100, variables[0]), (keras.ops.ones(3) * 100, variables[1])])
    moved = math.sqrt(sum(float((keras.ops.convert_to_numpy(v) ** 2).sum()) for v in variables))
    assert moved == pytest.approx(0.5, rel=1e-4)
    # Without clipnorm the same step moves 100 times sqrt(15).
    opt = keras_runner.optimizer(context(optimizer="sgd", learning_rate=1.0))
    free = keras.Variable(np.zeros(15, "float32"))
    opt.apply_gradients([(keras.ops.ones(15) * 100, free)])
    assert float(np.linalg.norm(keras.ops.convert_to_numpy(free))) == pytest.approx(100 * math.sqrt(15), rel=1e-5)
