"""Learning-rate schedules and early stopping with the best weights, in real jobs of both frameworks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from builder.codegen.scripts.schedules import PLATEAU_PATIENCE
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.models import TrainingJob
from workers.services import submit_job
from workers.training.reporter import EarlyStopping

pytestmark = pytest.mark.django_db(transaction=True)


def run(owner, dataset, framework: str, worker, **overrides) -> TrainingJob:
    job = submit_job(owner, spec=SPECS["tabular"], dataset=dataset, framework=framework,
                     hyperparameters=hp(**overrides))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    return job


def rates(job: TrainingJob) -> list[float]:
    return [m.values["learning_rate"] for m in job.metrics.order_by("epoch")]


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_the_learning_rate_follows_the_schedule(trainer_without_export, alice, framework):
    ds = make_dataset(alice, "tabular", n=160)
    cosine = run(alice, ds, framework, trainer_without_export, epochs=4, learning_rate=0.01, lr_schedule="cosine", patience=None)
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert rates(cosine) == pytest.approx(expected, rel=1e-6)

    # A rate too small to improve the validation loss by the relative 1e-4: after PLATEAU_PATIENCE
    # epochs without a better one, the next epoch runs at half the rate. The other options ride along.
    epochs = PLATEAU_PATIENCE + 2
    plateau = run(alice, ds, framework, trainer_without_export, epochs=epochs, learning_rate=1e-7, lr_schedule="reduce_on_plateau",
                  clipnorm=1.0, label_smoothing=0.1, class_weight="balanced")  # fmt: skip
    assert rates(plateau) == pytest.approx([1e-7] * (epochs - 1) + [5e-8], rel=1e-6)
    assert plateau.hyperparameters["class_weight"] == "balanced"


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_early_stopping_ends_with_the_best_epochs_weights(trainer_without_export, alice, framework):
    ds = make_dataset(alice, "tabular", n=240)
    folder = ds.version_dir
    # Training labels that are noise: at a high rate the model learns them and validation gets worse.
    y_train = np.load(folder / "y_train.npy")
    np.save(folder / "y_train.npy", np.random.default_rng(5).integers(0, 3, size=len(y_train)))
    for name in ("X", "y", "ids"):  # the test split is the validation split, so the evaluation shows which weights
        np.save(folder / f"{name}_test.npy", np.load(folder / f"{name}_val.npy"))
    job = run(alice, ds, framework, trainer_without_export, epochs=40, learning_rate=0.05, patience=4, lr_schedule="none")
    val_losses = [m.values["val_loss"] for m in job.metrics.order_by("epoch")]
    best = 0  # the last epoch that lowered the best validation loss by more than the minimum
    for epoch, loss in enumerate(val_losses):
        if loss < val_losses[best] - EarlyStopping.MIN_DELTA:
            best = epoch
    assert len(val_losses) == best + 1 + 4, val_losses  # stopped 4 epochs after the best
    assert job.evaluation["loss"] == pytest.approx(val_losses[best], rel=1e-4)
    assert abs(job.evaluation["loss"] - val_losses[-1]) > 1e-3  # not the last epoch's weights
