"""The epoch bookkeeping is written once: given the same epoch values, a Keras job and a torch job
record the same metric rows, keep the best weights of the same epoch, stop early at the same
epoch and checkpoint the same early-stopping and schedule state (bookkeeping.EpochBook with
each framework's real model, optimizer, checkpoint files, Reporter and database rows)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from builder.codegen.frameworks import NAMES, framework
from builder.codegen.guard import load_module
from tests.workers.helpers import SPECS, hp, make_dataset
from workers.lifecycle import claim
from workers.models import TrainingJob
from workers.training import checkpoints, keras_runner, torch_runner
from workers.training.bookkeeping import EpochBook
from workers.training.context import JobContext
from workers.training.reporter import Reporter

pytestmark = pytest.mark.django_db(transaction=True)

# Validation losses of six epochs: the best is epoch 2; with patience 2, epoch 4 stops training.
VAL_LOSSES = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7]


class Weights:
    """A framework's model and optimizer, with every weight set to one number (the epoch's)."""

    def __init__(self, name: str, ctx: JobContext) -> None:
        self.name = name
        model = load_module(framework(name).generate(ctx.spec), f"bookkeeping_{name}").build_model()
        if name == "keras":
            model.compile(optimizer=keras_runner.optimizer(ctx), loss=keras_runner.loss(ctx))
            model.optimizer.build(model.trainable_variables)
            self.snapshots: Any = keras_runner.Snapshots(model, ctx)
        else:
            self.snapshots = torch_runner.Snapshots(model, torch_runner.optimizer(ctx, model), ctx)
        self.model = model

    def fill(self, value: float) -> None:
        if self.name == "keras":
            self.model.set_weights([np.full_like(w, value) for w in self.model.get_weights()])
        else:
            for tensor in self.model.state_dict().values():
                tensor.fill_(value)

    def values(self) -> set[float]:
        if self.name == "keras":
            arrays = self.model.get_weights()
        else:
            arrays = [t.numpy() for t in self.model.state_dict().values()]
        return {float(v) for a in arrays for v in np.unique(a)}


def run_epochs(owner: Any, dataset: Any, name: str) -> tuple[TrainingJob, JobContext, Weights, int]:
    job = TrainingJob.objects.create(owner=owner, spec=SPECS["tabular"], dataset=dataset, dataset_version=1,
                                     framework=name, hyperparameters=hp(epochs=6, patience=2, restore_best_weights=True,
                                                                        lr_schedule="reduce_on_plateau"))  # fmt: skip
    token = claim(job.pk, "test")
    ctx = JobContext.from_job(job)
    ctx.job_dir.mkdir(parents=True, exist_ok=True)
    train, val = ctx.split("train", scaled=True), ctx.split("val", scaled=True)
    reporter = Reporter(job.pk, token, ctx.hp.epochs, 3)
    weights = Weights(name, ctx)
    book = EpochBook(ctx, reporter, train, val)  # no writer thread: each write done when asked
    stopped = -1
    for epoch, val_loss in enumerate(VAL_LOSSES):
        book.begin(epoch)
        weights.fill(epoch + 1)  # "training": this epoch's weights are all epoch + 1
        assert not book.batch_done(epoch, 3)
        values = {"loss": 2.0 - epoch / 10, "accuracy": 0.5, "val_loss": val_loss, "val_accuracy": 0.5,
                  "learning_rate": 0.01}  # fmt: skip
        if book.end(epoch, values, weights.snapshots):
            stopped = epoch
            break
    book.finish(weights.snapshots)
    return job, ctx, weights, stopped


def test_both_frameworks_keep_the_same_books(alice):
    ds = make_dataset(alice, "tabular", n=60)
    seen = {}
    for name in NAMES:
        job, ctx, weights, stopped = run_epochs(alice, ds, name)
        rows = [m.values for m in job.metrics.order_by("epoch")]
        state = json.loads((ctx.checkpoint_dir / "state.json").read_text())
        files = sorted(p.name for p in ctx.checkpoint_dir.iterdir())
        seen[name] = rows, state, files, stopped
        assert stopped == 3, f"{name}: early stopping (patience 2 after the best epoch 2) stops after epoch 4"
        assert len(rows) == 4
        assert weights.values() == {2.0}, f"{name}: the best epoch's weights are restored at the end"
        assert state["epoch"] == 4 and state["framework"] == name
        best = checkpoints.BEST_KERAS if name == "keras" else checkpoints.BEST_TORCH
        assert best in files and len([f for f in files if f.startswith(("weights-", "state-"))]) == 1, files
        # A fresh model resumes from the checkpoint at epoch 4, with the last epoch's weights.
        again = Weights(name, ctx)
        fresh = EpochBook(ctx, Reporter(job.pk, job.run_token, 6, 3), ctx.split("train"), ctx.split("val"))
        assert fresh.resume(again.snapshots) == 4
        assert again.values() == {4.0}
        assert fresh.early.state() == state["early"] and fresh.rate.state() == state["lr_schedule"]

    (k_rows, k_state, _, _), (t_rows, t_state, _, _) = seen["keras"], seen["torch"]
    assert [sorted(r) for r in k_rows] == [sorted(r) for r in t_rows]
    timings = {"epoch_seconds", "epoch_cpu_seconds", "samples_per_second"}
    same = [{k: v for k, v in r.items() if k not in timings} for r in k_rows]
    assert same == [{k: v for k, v in r.items() if k not in timings} for r in t_rows]
    assert {"samples_per_second", "epoch_seconds", "learning_rate", "val_loss"} <= set(k_rows[0])
    assert k_state["early"] == t_state["early"] and k_state["lr_schedule"] == t_state["lr_schedule"]
