"""Admission: a job whose memory estimate does not fit the limit is a 400 naming both."""

from __future__ import annotations

from typing import Any

import pytest

from builder.spec import validate_spec
from tests.workers.helpers import make_dataset
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db

WIDE = {
    "format": 1, "name": "wide", "input": {"shape": [6]},
    "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 2000, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ],
}  # fmt: skip


def submit(client: Any, dataset: Any, batch_size: int) -> Any:
    body = {"framework": "torch", "dataset": dataset.pk, "spec": WIDE,
            "hyperparameters": {"epochs": 1, "batch_size": batch_size}}  # fmt: skip
    return client.post("/api/jobs/", body, format="json")


def test_a_job_over_the_memory_limit_is_refused_with_estimate_and_limit(alice_api: Any, alice: Any, settings) -> None:
    settings.LAYERLOOM_JOB_MEMORY_LIMIT_MB = 1
    dataset = make_dataset(alice, "tabular", n=240)
    model = validate_spec(WIDE, batch_size=64).memory_estimate_bytes
    assert model > 1024**2 > validate_spec(WIDE, batch_size=8).memory_estimate_bytes + 6000

    response = submit(alice_api, dataset, batch_size=64)
    assert response.status_code == 400, response.json()
    [error] = response.json()["errors"]
    assert error["field"] == "memory"
    message = error["message"]
    assert "batch size 64" in message and "1.0 MiB limit (LAYERLOOM_JOB_MEMORY_LIMIT_MB)" in message
    assert f"{model / 1024**2:,.1f} MiB" in message and "smaller batch size" in message
    assert not TrainingJob.objects.exists()

    assert submit(alice_api, dataset, batch_size=8).status_code == 201  # the same model fits in smaller batches


def test_a_retry_meets_a_memory_limit_lowered_since_the_job_failed(alice_api: Any, alice: Any, settings) -> None:
    dataset = make_dataset(alice, "tabular", n=240)
    created = submit(alice_api, dataset, batch_size=64)
    assert created.status_code == 201, created.json()
    TrainingJob.objects.filter(pk=created.json()["id"]).update(status=TrainingJob.Status.FAILED)
    settings.LAYERLOOM_JOB_MEMORY_LIMIT_MB = 1

    response = alice_api.post(f"/api/jobs/{created.json()['id']}/retry/")
    assert response.status_code == 400, response.json()
    assert [e["field"] for e in response.json()["errors"]] == ["memory"]
    assert TrainingJob.objects.count() == 1  # no retry row
    settings.LAYERLOOM_JOB_MEMORY_LIMIT_MB = 0
    assert alice_api.post(f"/api/jobs/{created.json()['id']}/retry/").status_code == 201


def test_without_a_configured_limit_the_machines_memory_is_the_limit(alice_api: Any, alice: Any, settings) -> None:
    settings.LAYERLOOM_JOB_MEMORY_LIMIT_MB = 0
    dataset = make_dataset(alice, "tabular", n=240)
    # Within every spec limit (0.7 M parameters, 4 M values per layer), but at batch size
    # 65,536 the activations alone are about 2.3 TB: more memory than any machine this runs on.
    huge = {**WIDE, "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 65536}},
        {"id": "r", "type": "Reshape", "params": {"target_shape": [1024, 64]}},
        {"id": "c", "type": "Conv1D", "params": {"filters": 4096, "kernel_size": 1}},
        {"id": "g", "type": "GlobalAveragePooling1D"},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ]}  # fmt: skip
    assert validate_spec(huge).ok
    body = {"framework": "keras", "dataset": dataset.pk, "spec": huge, "hyperparameters": {"batch_size": 65536}}
    response = alice_api.post("/api/jobs/", body, format="json")
    assert response.status_code == 400, response.json()
    [error] = response.json()["errors"]
    assert error["field"] == "memory" and "limit (this machine's memory)" in error["message"]
    assert not TrainingJob.objects.exists()
