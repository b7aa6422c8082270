"""What a sweep's pruning saves, and what its winner gets on the test split against the default settings.

A 12-trial random sweep (seed 0) over the learning rate (log range) and the hidden layer's width
of a small MLP on scikit-learn's wine table (178 rows, 13 columns, 3 classes; split 60/20/20,
standardised on the training rows), run twice: with the median pruner and without it. Then one
job with the default settings (workers/hyperparameters.py) of the same model on the same split.
The trials run one after another in this process's children, through the real job path
(workers.supervisor.run_job: the runner, checkpoints, export); the sweep's steps are
sweeps.scheduler.step called here instead of by a Celery worker. Prints, per condition, the
trials that ran out and were pruned (with the median time of each, from its start to its end),
the epochs trained in all, the wall time, the winner's validation loss and its test accuracy;
then the default job's test accuracy.

Run: .venv/bin/python bench/bench_sweep.py [--framework torch] [--trials 12]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LAYERLOOM_VAR_DIR", tempfile.mkdtemp(prefix="layerloom-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.figures import Figure, record  # noqa: E402

SPEC = {"format": 1, "name": "wine-mlp", "input": {"shape": [13]}, "layers": [
    {"id": "hidden", "type": "Dense", "params": {"units": 32, "activation": "relu"}},
    {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]}  # fmt: skip
SPACE = {"learning_rate": {"low": 0.0001, "high": 0.3, "log": True},
         "layers.hidden.units": {"values": [4, 8, 16, 32, 64, 128]}}  # fmt: skip
SHARED = {"epochs": 60, "patience": 10, "batch_size": 16, "device": "cpu"}


def wine_dataset(owner):  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_wine

    from builder.models import Dataset

    X, y = load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order].astype(np.float32), y[order].astype(np.int64)
    n = len(X)
    cuts = {"train": (0, int(n * 0.6)), "val": (int(n * 0.6), int(n * 0.8)), "test": (int(n * 0.8), n)}
    mean, std = X[: cuts["train"][1]].mean(0), X[: cuts["train"][1]].std(0) + 1e-8
    X = (X - mean) / std
    ds = Dataset.objects.create(owner=owner, name="wine", kind="tabular", status="ready", sha256="0" * 64,
                                task="classification", input_shape=[13], num_classes=3,
                                class_names=["class_0", "class_1", "class_2"])  # fmt: skip
    ds.version_dir.mkdir(parents=True, exist_ok=True)
    for split, (a, b) in cuts.items():
        np.save(ds.version_dir / f"X_{split}.npy", X[a:b])
        np.save(ds.version_dir / f"y_{split}.npy", y[a:b])
        np.save(ds.version_dir / f"ids_{split}.npy", np.arange(a, b, dtype=np.int64))
    doc = {"format": 1, "kind": "tabular", "task": "classification", "steps": []}
    (ds.version_dir / "preprocessing.json").write_text(json.dumps(doc))
    return ds


def run_queued(sweep_id: int) -> None:
    """Step the sweep and run each trial it starts, until it has ended (then its winner is evaluated)."""
    from sweeps import scheduler
    from sweeps.models import Sweep
    from workers.models import TrainingJob
    from workers.supervisor import run_job

    while True:
        scheduler.step(sweep_id)
        queued = TrainingJob.objects.filter(sweep_trial__sweep_id=sweep_id, status="queued").order_by("pk")
        if not queued.exists():
            break
        for job_id in queued.values_list("pk", flat=True):
            run_job(job_id, "bench")
    if Sweep.objects.get(pk=sweep_id).status == Sweep.Status.EVALUATING:
        scheduler.evaluate_winner(sweep_id)


def one_sweep(owner, dataset, arch, framework: str, trials: int, pruner: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from sweeps import services
    from sweeps.models import Sweep

    started = time.perf_counter()
    sweep = services.create_sweep(owner, dataset=dataset, architectures=[arch], framework=framework, space=SPACE,
                                  hyperparameters=SHARED, method="random", max_trials=trials, parallel=2,
                                  pruner=pruner, seed=0)  # fmt: skip
    run_queued(sweep.pk)
    took = time.perf_counter() - started
    sweep = Sweep.objects.get(pk=sweep.pk)
    jobs = [t.job for t in sweep.trials.select_related("job")]
    winner = sweep.winner

    def median_seconds(status: str) -> float | None:
        times = [j.duration_seconds for j in jobs if j.status == status and j.duration_seconds is not None]
        return round(float(np.median(times)), 1) if times else None

    return {
        "pruner": pruner, "status": sweep.status, "seconds": round(took, 1),
        "ran_out": sum(j.status == "succeeded" for j in jobs), "pruned": sum(j.status == "pruned" for j in jobs),
        "epochs": sum(j.epoch for j in jobs), "median_seconds_ran_out": median_seconds("succeeded"),
        "median_seconds_pruned": median_seconds("pruned"), "winner_val_loss": sweep.trials.get(job=winner).value if winner else None,
        "winner_test_accuracy": (winner.evaluation or {}).get("accuracy") if winner else None,
        "winner_settings": sweep.trials.get(job=winner).params if winner else None,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", default="torch")
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from builder.models import Architecture
    from workers.models import TrainingJob
    from workers.services import submit_job
    from workers.supervisor import run_job

    owner = get_user_model().objects.create_user("bench-sweep")
    dataset = wine_dataset(owner)
    arch = Architecture.objects.create(owner=owner, name="wine-mlp", spec=SPEC)
    sweeps = {}
    for pruner in ("median", "none"):
        sweeps[pruner] = one_sweep(owner, dataset, arch, args.framework, args.trials, pruner)
        print(json.dumps(sweeps[pruner]), flush=True)
    started = time.perf_counter()
    job = submit_job(owner, spec=SPEC, dataset=dataset, framework=args.framework, hyperparameters={"device": "cpu"})
    run_job(job.pk, "bench")
    job = TrainingJob.objects.get(pk=job.pk)
    print(json.dumps({"default_settings": True, "status": job.status, "epochs": job.epoch,
                      "seconds": round(time.perf_counter() - started, 1),
                      "test_accuracy": job.evaluation.get("accuracy")}))  # fmt: skip
    pruned, full = sweeps["median"], sweeps["none"]
    record(
        Figure(f"{args.trials}-trial sweep, median pruner: epochs trained ({pruned['pruned']} trials pruned)",
               str(pruned["epochs"]), f"without pruning: {full['epochs']}", pruned["epochs"] / full["epochs"]),
        Figure("the same sweeps' wall time", f"{pruned['seconds']:.0f} s", f"without pruning: {full['seconds']:.0f} s",
               pruned["seconds"] / full["seconds"]),
    )  # fmt: skip
    winner, default = pruned["winner_test_accuracy"], (job.evaluation or {}).get("accuracy")
    record(Figure("the pruned sweep's winner, test accuracy", "no winner evaluated" if winner is None else f"{winner:.3f}",
                  f"one job, default settings: {default}" if default is None else f"one job, default settings: {default:.3f}",
                  winner / default if winner and default else None))  # fmt: skip


if __name__ == "__main__":
    main()
