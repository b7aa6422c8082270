"""The predict endpoint answers what the worker recorded at evaluation and what the code
bundle's predict.py answers, on the raw test-split inputs (1e-4), for both frameworks, for
a table, images, text and a regression table.

Everything is real: the upload is ingested and the job trained by a Celery worker process,
the endpoint is called over the API, predict.py runs as a separate process from the
unzipped bundle the job exported.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.datasets.upload import create_dataset_from_upload
from tests.datasets.factories import csv_bytes, image_zip, iris_like
from tests.datasets.test_ingest_task import wait_until_settled
from tests.export import helpers as bundle_helpers
from tests.serving.helpers import b64
from tests.workers.helpers import hp, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TOLERANCE = 1e-4
SPLIT = [0.6, 0.2, 0.2]


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


CASES: dict[str, dict[str, Any]] = {
    "tabular": {"kind": "tabular", "file": ("iris.csv", iris_like(60)), "options": {"target_column": "species"},
                "layers": [{"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}}]},
    "regression": {"kind": "tabular", "file": ("prices.csv", regression_csv()),
                   "options": {"target_column": "price", "task": "regression"},
                   "layers": [{"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}}]},
    "images": {"kind": "images", "file": ("pets.zip", image_zip({"cats": 8, "dogs": 8})),
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
def test_endpoint_matches_evaluation_and_bundle(celery_worker, alice, alice_api, framework, name, tmp_path):
    case = CASES[name]
    filename, data = case["file"]
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile(filename, data), name, case["kind"],
                                         {**case["options"], "split": SPLIT})  # fmt: skip
    dataset = wait_until_settled(dataset.pk)
    assert dataset.status == "ready", dataset.error
    regression = dataset.task == "regression"
    units, activation = (1, "linear") if regression else (len(dataset.class_names), "softmax")
    spec = dense_head(dataset.input_shape, units, activation, case["layers"])
    job = submit_job(alice, spec=spec, dataset=dataset, framework=framework,
                     hyperparameters=hp(epochs=1, batch_size=8))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=300, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error

    ids, inputs = raw_test_inputs(dataset, case)
    assert len(ids) >= 3
    field = {"tabular": "rows", "text": "texts", "images": "images"}[case["kind"]]
    payload = [b64(x) for x in inputs] if case["kind"] == "images" else inputs
    response = alice_api.post(f"/api/jobs/{job.pk}/predict/", {field: payload}, format="json")
    assert response.status_code == 200, response.json()
    served = response.json()["predictions"]
    worker = recorded(job)
    bundle = bundle_predictions(job, case, inputs, tmp_path)
    assert len(served) == len(bundle) == len(ids) and set(worker) == set(ids)

    if regression:
        ours = np.array([p["value"] for p in served])
        theirs = np.array([float(worker[i]["prediction"]) for i in ids])
        script = np.array([float(row["prediction"]) for row in bundle])
    else:
        names = dataset.class_names
        ours = np.array([[p["probabilities"][n] for n in names] for p in served])
        theirs = np.array([[float(worker[i][bundle_helpers._safe(f"p({n})")]) for n in names] for i in ids])
        script = bundle_helpers.read_predictions(tmp_path / "out.csv", names)[1]
        assert [p["label"] for p in served] == [names[k] for k in theirs.argmax(axis=1)]
    scale = max(1.0, float(np.abs(theirs).max()))
    differences = {"worker": float(np.abs(ours - theirs).max()), "predict.py": float(np.abs(ours - script).max())}
    print(f"\n{framework} {name}: largest differences {differences}")
    assert max(differences.values()) <= TOLERANCE * scale, differences
