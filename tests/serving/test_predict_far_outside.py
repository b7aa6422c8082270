"""A table row with a number far outside its column's training range is answered with a
warning naming the column and the range the training split held: a real torch job trained by
a Celery worker on the iris demo, its ranges checked against the iris rows of the split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_iris

from builder.datasets.arrays import load_ids
from builder.datasets.ingest import run_ingest
from builder.demo import create_demo_dataset
from builder.models import Dataset
from serving.sessions import CACHE
from tests.api.conftest import token_client
from tests.workers.helpers import hp, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.mark.django_db(transaction=True)
def test_a_number_far_outside_the_training_range_is_answered_with_a_warning_naming_it(
    alice: Any, celery_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("builder.datasets.upload.enqueue_ingest", lambda dataset_id: None)
    dataset = create_demo_dataset(alice, "iris")
    assert run_ingest(dataset.pk) == "ready"
    dataset = Dataset.objects.get(pk=dataset.pk)
    spec = {"format": 1, "name": "iris-mlp", "input": {"shape": dataset.input_shape},
            "layers": [{"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]}  # fmt: skip
    job = submit_job(alice, spec=spec, dataset=dataset, framework="torch", hyperparameters=hp(epochs=1))
    job = wait_status(job, *TrainingJob.FINISHED, timeout=300, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    # What the training split held, from the iris rows themselves (ids are the CSV's row numbers).
    train = load_iris().data[load_ids(dataset.version_dir, "train")]
    low, high = train[:, 2].min(), train[:, 2].max()
    CACHE.clear()
    api = token_client(alice)

    typical = {"sepal_length": 5.8, "sepal_width": 3.0, "petal_length": 4.3, "petal_width": 1.3}
    near = high + 0.9 * (high - low)  # outside the range, but by less than its width: no warning
    rows = [typical, {**typical, "petal_length": 99999}, {**typical, "petal_length": str(near)},
            {**typical, "petal_length": -50, "sepal_width": None}]  # fmt: skip
    response = api.post(f"/api/jobs/{job.pk}/predict/", {"rows": rows}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["predictions"]) == 4  # every row is still answered
    assert all(p["label"] in dataset.class_names for p in body["predictions"])
    assert [w["field"] for w in body["warnings"]] == ["rows.1.petal_length", "rows.3.petal_length"]
    first = body["warnings"][0]["message"]
    assert first.startswith("'petal_length' is 99999, far outside the ") and "extrapolation" in first
    shown = first.split("far outside the ")[1].split(" the training data held")[0]
    shown_low, shown_high = (float(v) for v in shown.split(" to "))
    assert (shown_low, shown_high) == (pytest.approx(low, rel=1e-3), pytest.approx(high, rel=1e-3))
    assert "'petal_length' is -50," in body["warnings"][1]["message"]

    # Values within the range (and one row alone) carry no warnings at all.
    within = {name: float(np.median(train[:, j])) for j, name in enumerate(COLUMNS)}
    alone = api.post(f"/api/jobs/{job.pk}/predict/", {"row": within}, format="json").json()
    assert "warnings" not in alone and len(alone["predictions"]) == 1
    alone = api.post(f"/api/jobs/{job.pk}/predict/", {"row": {**within, "sepal_width": 1e6}}, format="json").json()
    assert [w["field"] for w in alone["warnings"]] == ["row.sepal_width"]
