"""Both frameworks on a table, a regression table, images, text and a two-class table with
each output head the validator accepts, end to end with real processes: a Celery worker
ingests the upload, trains, evaluates and exports; the job's record, metrics, evaluation and
files are what the API promises; and the predict endpoint answers what the worker recorded at
evaluation and what the code bundle's predict.py answers, on the raw test-split inputs
(1e-6). predict.py runs as a separate process from the unzipped bundle the job exported.

One job per framework and case serves every check (the suite used to train this grid twice).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from builder.datasets.upload import create_dataset_from_upload
from builder.usage import folder_bytes
from serving.sessions import CACHE
from tests.api.conftest import token_client
from tests.datasets.factories import csv_bytes, iris_like, zip_bytes
from tests.datasets.test_ingest_task import wait_until_settled
from tests.export import helpers as bundle_helpers
from tests.serving.helpers import b64
from tests.workers.helpers import SPECS, hp, make_dataset, ran_on_the_test_device, wait_for, wait_status
from tests.workers.test_thumbnails import assert_thumbnails_served
from workers.admission import expected_job_bytes
from workers.lifecycle import enqueue
from workers.models import Artifact, TrainingJob
from workers.services import submit_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TOLERANCE = 1e-6  # measured up to 1.2e-7 (ONNX Runtime against the framework, float32)
SPLIT = [0.6, 0.2, 0.2]
NATIVE = {"keras": {"model.keras", "saved_model.zip"}, "torch": {"model.safetensors", "model.pt"}}


def noise_zip(per_class: int) -> bytes:
    """Two classes of random-noise images: no model can tell them apart, so the test split
    always has misclassified images (and with them thumbnails)."""
    rng = np.random.default_rng(5)
    members = {}
    for name in ("cats", "dogs"):
        for i in range(per_class):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)).save(buf, format="PNG")
            members[f"{name}/{i}.png"] = buf.getvalue()
    return zip_bytes(members)


def regression_csv(rows: int = 60) -> bytes:
    rng = np.random.default_rng(3)
    body = []
    for i in range(rows):
        x1, x2 = rng.normal(size=2)
        colour = ["red", "green", "", "blue"][i % 4]
        body.append([f"{x1:.4f}", f"{x2:.4f}", colour, f"{3 + 2 * x1 - x2 + rng.normal(0, 0.1):.4f}"])
    return csv_bytes(["x1", "x2", "colour", "price"], body)


def reviews_csv(rows: int = 40) -> bytes:
    good, bad = ["great", "fun", "lovely", "good"], ["dull", "bad", "long", "boring"]
    rng = np.random.default_rng(4)
    body = []
    for i in range(rows):
        words = [str(w) for w in rng.choice(good if i % 2 else bad, size=4)] + ["film", f"word{i}"]
        body.append([" ".join(words).capitalize(), "pos" if i % 2 else "neg"])
    return csv_bytes(["text", "label"], body)


def dense_head(shape: list[int], units: int, activation: str, first: list[dict[str, Any]]) -> dict[str, Any]:
    out = {"id": "out", "type": "Dense", "params": {"units": units, "activation": activation}}
    return {"format": 1, "name": "parity", "input": {"shape": shape}, "layers": [*first, out]}


def binary_csv(rows: int = 60) -> bytes:
    """Two classes ("no", "yes") that the two numbers separate, with a categorical column."""
    rng = np.random.default_rng(6)
    body = []
    for i in range(rows):
        label = i % 2
        body.append([f"{label * 2 + rng.normal():.4f}", f"{rng.normal():.4f}", ["red", "blue", ""][i % 3],
                     ["no", "yes"][label]])  # fmt: skip
    return csv_bytes(["x1", "x2", "colour", "answer"], body)


HIDDEN = [{"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}}]
BINARY = {"kind": "tabular", "file": ("answers.csv", binary_csv()), "options": {"target_column": "answer"},
          "layers": HIDDEN}  # fmt: skip
# Every head the validator accepts, read the same way by the worker, the endpoint and predict.py
# (builder/codegen/scripts/heads.py): the cases above have softmax and regression heads.
CASES: dict[str, dict[str, Any]] = {
    "binary-sigmoid-1": {**BINARY, "head": (1, "sigmoid")},
    "binary-sigmoid-2": {**BINARY, "head": (2, "sigmoid")},
    "binary-logit-1": {**BINARY, "head": (1, "linear")},
    "binary-logits-2": {**BINARY, "head": (2, "linear")},
    "tabular": {"kind": "tabular", "file": ("iris.csv", iris_like(60)), "options": {"target_column": "species"},
                "layers": [{"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}}]},
    "regression": {"kind": "tabular", "file": ("prices.csv", regression_csv()),
                   "options": {"target_column": "price", "task": "regression"},
                   "layers": [{"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}}]},
    "images": {"kind": "images", "file": ("pets.zip", noise_zip(20)),
               "options": {"image_size": [8, 8]},
               "layers": [{"id": "c", "type": "Conv2D", "params": {"filters": 3, "kernel_size": 3,
                                                                   "activation": "relu"}},
                          {"id": "f", "type": "Flatten"}]},
    "text": {"kind": "text", "file": ("reviews.csv", reviews_csv()),
             "options": {"vocab_size": 40, "sequence_length": 6},
             "layers": [{"id": "e", "type": "Embedding", "params": {"input_dim": 40, "output_dim": 4}},
                        {"id": "g", "type": "GlobalAveragePooling1D"}]},
}  # fmt: skip


def raw_test_inputs(dataset: Any, case: dict[str, Any]) -> tuple[list[int], list[Any]]:
    """(dataset ids, raw inputs) of the test split, read back from the uploaded file."""
    ids = [int(i) for i in np.load(dataset.version_dir / "ids_test.npy")]
    name, data = case["file"]
    if case["kind"] == "images":
        names = json.loads((dataset.version_dir / "samples.json").read_text())["names"]
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return ids, [archive.read(names[str(i)]) for i in ids]
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    if case["kind"] == "text":
        return ids, [rows[i]["text"] for i in ids]
    return ids, [rows[i] for i in ids]


def recorded(job: TrainingJob) -> dict[int, dict[str, str]]:
    path = job.artifacts.get(kind="test_predictions").absolute_path
    with path.open(newline="", encoding="utf-8") as handle:
        return {int(row["id"]): row for row in csv.DictReader(handle)}


def bundle_predictions(job: TrainingJob, case: dict[str, Any], inputs: list[Any], folder: Path) -> list[dict]:
    """predict.py from the job's own code bundle, on the raw inputs written as files."""
    bundle = bundle_helpers.unzip_bundle(job.artifacts.get(kind="code_bundle").absolute_path, folder)
    if case["kind"] == "images":
        given = folder / "images"
        given.mkdir()
        for n, data in enumerate(inputs):
            (given / f"{n:04d}.png").write_bytes(data)  # sorted names keep the order
    else:
        given = folder / "inputs.csv"
        with given.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if case["kind"] == "text":
                writer.writerow(["text"])
                writer.writerows([t] for t in inputs)
            else:
                writer = csv.DictWriter(handle, list(inputs[0]))
                writer.writeheader()
                writer.writerows(inputs)
    bundle_helpers.run_script(bundle / "predict.py", [str(given), "--output", "out.csv"], folder, timeout=240)
    with (folder / "out.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_job_trains_evaluates_exports_and_serves_what_it_evaluated(celery_worker, alice, bob, framework, name,
                                                                     tmp_path):  # fmt: skip
    CACHE.clear()  # ids repeat between tests' databases: no model loaded by an earlier test
    case = CASES[name]
    filename, data = case["file"]
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile(filename, data), name, case["kind"],
                                         {**case["options"], "split": SPLIT})  # fmt: skip
    dataset = wait_until_settled(dataset.pk)
    assert dataset.status == "ready", dataset.error
    regression = dataset.task == "regression"
    units, activation = case.get("head") or ((1, "linear") if regression else (len(dataset.class_names), "softmax"))
    spec = dense_head(dataset.input_shape, units, activation, case["layers"])
    job = submit_job(alice, spec=spec, dataset=dataset, framework=framework,
                     hyperparameters=hp(epochs=2, batch_size=8))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=300, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    ids, inputs = raw_test_inputs(dataset, case)
    assert len(ids) >= 3

    assert_the_run_is_recorded(job, dataset, len(ids), regression)
    if case["kind"] == "images":
        assert job.evaluation["worst_misclassified"], "noise images are always partly misclassified"
        assert_thumbnails_served(job, alice, bob)
    else:
        assert all("thumbnail" not in w for w in job.evaluation.get("worst_misclassified", []))
    assert_files_recorded(job, framework)
    assert_readme_shows_the_baselines(job)
    assert_served_equals_evaluated_and_bundle(job, dataset, case, ids, inputs, token_client(alice), tmp_path)
    if (framework, name) == ("torch", "tabular"):
        redelivered_message_changes_nothing(job, celery_worker)


def assert_the_run_is_recorded(job: TrainingJob, dataset: Any, test_rows: int, regression: bool) -> None:
    assert job.epoch == 2 and job.percent == 100.0 and job.attempts == 1
    assert ran_on_the_test_device(job) and job.worker_host.startswith("test-"), job.device_name
    assert job.started_at <= job.finished_at and job.heartbeat_at is not None

    metrics = list(job.metrics.all())
    assert [m.epoch for m in metrics] == [1, 2]
    wanted = {"loss", "val_loss", "learning_rate", "samples_per_second", "epoch_seconds", "epoch_cpu_seconds"}
    wanted |= {"mae", "rmse", "val_rmse"} if regression else {"accuracy", "val_accuracy"}
    assert wanted <= set(metrics[-1].values), set(metrics[-1].values)
    # Training burns CPU, and no more than the machine's cores can give in the epoch's wall time.
    last = metrics[-1].values
    assert 0 < last["epoch_cpu_seconds"] <= last["epoch_seconds"] * (os.cpu_count() or 1) + 0.05

    evaluation = job.evaluation
    assert evaluation["split"] == "test" and evaluation["samples"] == test_rows
    assert_baselines(evaluation, dataset, regression)
    if regression:
        assert {"mae", "rmse", "r2", "residuals"} <= set(evaluation)
        return
    assert evaluation["class_names"] == dataset.class_names
    assert len(evaluation["confusion_matrix"]) == len(dataset.class_names)
    assert {row["class"] for row in evaluation["per_class"]} == set(dataset.class_names)
    worst, matrix = evaluation["worst_misclassified"], evaluation["confusion_matrix"]
    mistakes = sum(map(sum, matrix)) - sum(row[i] for i, row in enumerate(matrix))
    assert len(worst) == min(mistakes, 20)


def assert_baselines(evaluation: dict[str, Any], dataset: Any, regression: bool) -> None:
    """The majority class (or mean) and the linear model, on the same test rows, fitted on the
    training split: their figures computed again here from the split arrays."""
    baselines = evaluation["baselines"]
    y_train = np.load(dataset.version_dir / "y_train.npy").astype(np.float64)
    y_test = np.load(dataset.version_dir / "y_test.npy").astype(np.float64)
    assert baselines["samples"] == evaluation["samples"] == len(y_test)
    assert baselines["train_samples"] == len(y_train) and baselines["notes"] == []
    simple, linear = baselines["models"]
    assert linear["name"] == "linear" and "skipped" not in linear and linear["fitted_on"] == len(y_train)
    if regression:
        assert simple["name"] == "mean" and simple["value"] == pytest.approx(y_train.mean())
        spread = ((y_test - y_test.mean()) ** 2).sum()
        assert simple["r2"] == pytest.approx(1 - ((y_test - y_train.mean()) ** 2).sum() / spread)
        assert linear["label"] == "ridge regression on the standardised inputs"
        assert linear["r2"] > 0.5, linear  # the price is linear in x1 and x2
        metric = "r2"
    else:
        majority = int(np.bincount(y_train.astype(int)).argmax())  # the training split's most common class
        assert simple["name"] == "majority" and simple["class"] == dataset.class_names[majority]
        assert simple["accuracy"] == pytest.approx(float(np.mean(y_test.astype(int) == majority)))
        assert linear["label"].startswith("logistic regression on ")
        assert 0.0 <= linear["accuracy"] <= 1.0 and linear["macro_f1"] is not None
        metric = "accuracy"
    assert baselines["metric"] == metric
    assert baselines["model_worse_than_linear"] == (evaluation[metric] < linear[metric])
    assert 0 < baselines["seconds"] < 30


def assert_readme_shows_the_baselines(job: TrainingJob) -> None:
    with zipfile.ZipFile(job.artifacts.get(kind="code_bundle").absolute_path) as archive:
        readme = archive.read("code_bundle/README.md").decode()
    samples = job.evaluation["samples"]
    assert f"On the job's {samples} held-out test rows: " in readme
    linear = job.evaluation["baselines"]["models"][1]["label"]
    assert f"{linear[0].upper()}{linear[1:]}, on the same {samples} test rows: " in readme
    worse = "This model does worse than the linear baseline" in readme
    assert worse == job.evaluation["baselines"]["model_worse_than_linear"]


def assert_files_recorded(job: TrainingJob, framework: str) -> None:
    # What the storage quota charges a job before it runs covers what it wrote.
    written, estimate = folder_bytes(job.job_dir), expected_job_bytes(job.spec)
    assert 0 < written <= estimate, (written, estimate)
    names = set(job.artifacts.values_list("filename", flat=True))
    assert {"metrics.csv", "tensorboard.zip", "test_predictions.csv", "model.onnx"} <= names
    assert NATIVE[framework] <= names
    for artifact in Artifact.objects.filter(job=job):
        data = artifact.absolute_path.read_bytes()
        assert artifact.path.startswith(f"jobs/{job.storage_key}/artifacts/")
        assert len(data) == artifact.size_bytes and hashlib.sha256(data).hexdigest() == artifact.sha256


def assert_served_equals_evaluated_and_bundle(job, dataset, case, ids, inputs, api, folder: Path) -> None:
    field = {"tabular": "rows", "text": "texts", "images": "images"}[case["kind"]]
    payload = [b64(x) for x in inputs] if case["kind"] == "images" else inputs
    response = api.post(f"/api/jobs/{job.pk}/predict/", {field: payload}, format="json")
    assert response.status_code == 200, response.json()
    served = response.json()["predictions"]
    worker = recorded(job)
    bundle = bundle_predictions(job, case, inputs, folder)
    assert len(served) == len(bundle) == len(ids) and set(worker) == set(ids)

    if dataset.task == "regression":
        ours = np.array([p["value"] for p in served])
        theirs = np.array([float(worker[i]["prediction"]) for i in ids])
        script = np.array([float(row["prediction"]) for row in bundle])
    else:
        names = dataset.class_names
        ours = np.array([[p["probabilities"][n] for n in names] for p in served])
        theirs = np.array([[float(worker[i][bundle_helpers._safe(f"p({n})")]) for n in names] for i in ids])
        script = bundle_helpers.read_predictions(folder / "out.csv", names)[1]
        assert [p["label"] for p in served] == [names[k] for k in theirs.argmax(axis=1)]
    scale = max(1.0, float(np.abs(theirs).max()))
    differences = {"worker": float(np.abs(ours - theirs).max()), "predict.py": float(np.abs(ours - script).max())}
    print(f"\n{job.framework} {case['kind']}: largest differences {differences}")
    assert max(differences.values()) <= TOLERANCE * scale, differences


def redelivered_message_changes_nothing(job: TrainingJob, worker) -> None:
    before = TrainingJob.objects.filter(pk=job.pk).values().get()
    metric_rows = list(job.metrics.values_list("id", "values"))
    enqueue(job.pk)  # the same message again, as a broker would redeliver it
    wait_for(lambda: f"job {job.pk}: message ignored" in worker.log(), 60, what="the worker to see the message")
    assert TrainingJob.objects.filter(pk=job.pk).values().get() == before
    assert list(job.metrics.values_list("id", "values")) == metric_rows


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_regression_job_learns_the_standardised_target_and_reports_target_units(trainer_without_export, alice, framework):
    ds = make_dataset(alice, "regression", n=300)
    scaling = json.loads((ds.version_dir / "preprocessing.json").read_text())["target_scaling"]
    assert scaling["mean"] > 250 and scaling["std"] > 20  # far from the standardised scale
    job = submit_job(alice, spec=SPECS["regression"], dataset=ds, framework=framework,
                     hyperparameters=hp(epochs=25, learning_rate=0.01))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=trainer_without_export)
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
