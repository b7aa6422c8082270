"""Both frameworks on a table, images and text: a real worker trains, evaluates and exports."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from tests.workers.helpers import SPECS, hp, make_dataset, wait_for, wait_status
from tests.workers.test_thumbnails import assert_thumbnails_served
from workers.lifecycle import enqueue
from workers.models import Artifact, TrainingJob
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)

NATIVE = {"keras": {"model.keras", "saved_model.zip"}, "torch": {"model.safetensors", "model.pt"}}


@pytest.mark.parametrize(
    ("framework", "kind"),
    [("torch", "tabular"), ("keras", "tabular"), ("torch", "images"), ("keras", "images"),
     ("torch", "text"), ("keras", "text")],
)  # fmt: skip
def test_a_job_trains_evaluates_and_exports(celery_worker, alice, bob, framework, kind):
    ds = make_dataset(alice, kind, n=160)
    job = submit_job(alice, spec=SPECS[kind], dataset=ds, framework=framework, hyperparameters=hp(epochs=2))
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.epoch == 2 and job.percent == 100.0 and job.attempts == 1
    assert job.device_name == "CPU" and job.worker_host.startswith("test-")
    assert job.started_at <= job.finished_at and job.heartbeat_at is not None

    metrics = list(job.metrics.all())
    assert [m.epoch for m in metrics] == [1, 2]
    wanted = {"loss", "val_loss", "learning_rate", "samples_per_second", "epoch_seconds", "epoch_cpu_seconds"}
    wanted |= {"mae", "rmse", "val_rmse"} if kind == "regression" else {"accuracy", "val_accuracy"}
    assert wanted <= set(metrics[-1].values)
    # Training burns CPU, and no more than the machine's cores can give in the epoch's wall time.
    last = metrics[-1].values
    assert 0 < last["epoch_cpu_seconds"] <= last["epoch_seconds"] * (os.cpu_count() or 1) + 0.05

    evaluation = job.evaluation
    assert evaluation["split"] == "test" and evaluation["samples"] == 32
    if kind == "regression":
        assert {"mae", "rmse", "r2", "residuals"} <= set(evaluation)
    else:
        assert evaluation["class_names"] == ds.class_names
        assert len(evaluation["confusion_matrix"]) == len(ds.class_names)
        assert {row["class"] for row in evaluation["per_class"]} == set(ds.class_names)
        worst, matrix = evaluation["worst_misclassified"], evaluation["confusion_matrix"]
        mistakes = sum(map(sum, matrix)) - sum(row[i] for i, row in enumerate(matrix))
        assert len(worst) == min(mistakes, 20)
        if kind == "images":
            assert worst, "the tiny CNN is expected to get some of the test images wrong"
            assert_thumbnails_served(job, alice, bob)
        else:
            assert all("thumbnail" not in w for w in worst)

    names = set(job.artifacts.values_list("filename", flat=True))
    assert {"metrics.csv", "tensorboard.zip"} <= names
    assert NATIVE[framework] <= names and "model.onnx" in names
    for artifact in Artifact.objects.filter(job=job):
        data = artifact.absolute_path.read_bytes()
        assert artifact.path.startswith(f"jobs/{job.storage_key}/artifacts/")
        assert len(data) == artifact.size_bytes and hashlib.sha256(data).hexdigest() == artifact.sha256

    if (framework, kind) == ("torch", "tabular"):
        redelivered_message_changes_nothing(job, celery_worker)


def redelivered_message_changes_nothing(job: TrainingJob, worker) -> None:
    before = TrainingJob.objects.filter(pk=job.pk).values().get()
    metric_rows = list(job.metrics.values_list("id", "values"))
    enqueue(job.pk)  # the same message again, as a broker would redeliver it
    wait_for(lambda: f"job {job.pk}: message ignored" in worker.log(), 60, what="the worker to see the message")
    assert TrainingJob.objects.filter(pk=job.pk).values().get() == before
    assert list(job.metrics.values_list("id", "values")) == metric_rows


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_regression_job_learns_the_standardised_target_and_reports_target_units(celery_worker, alice, framework):
    ds = make_dataset(alice, "regression", n=300)
    scaling = json.loads((ds.version_dir / "preprocessing.json").read_text())["target_scaling"]
    assert scaling["mean"] > 250 and scaling["std"] > 20  # far from the standardised scale
    job = submit_job(alice, spec=SPECS["regression"], dataset=ds, framework=framework,
                     hyperparameters=hp(epochs=25, learning_rate=0.01))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error

    evaluation = job.evaluation
    y_test = np.load(ds.version_dir / "y_test.npy")
    ids = np.load(ds.version_dir / "ids_test.npy").tolist()
    by_id = dict(zip(ids, y_test.tolist(), strict=True))
    residuals = evaluation["residuals"]
    assert all(row["true"] == pytest.approx(by_id[row["id"]]) for row in residuals)  # raw units, not standardised
    predicted = np.array([row["predicted"] for row in residuals])
    assert abs(predicted.mean() - y_test.mean()) < 0.25 * y_test.std()
    assert evaluation["r2"] > 0.9, evaluation["r2"]
    assert evaluation["mae"] == pytest.approx(np.abs([row["residual"] for row in residuals]).mean())

    last = job.metrics.order_by("epoch").last().values
    val_y = np.load(ds.version_dir / "y_val.npy")
    assert {"val_mae", "val_rmse", "val_r2", "r2"} <= set(last)
    # Validation metrics in the target's units: the same size as the test errors, not 1/std of them.
    assert 0.3 < last["val_rmse"] / evaluation["rmse"] < 3
    assert last["val_r2"] == pytest.approx(1 - last["val_rmse"] ** 2 / val_y.var(), abs=1e-5)
    assert last["val_r2"] > 0.85
