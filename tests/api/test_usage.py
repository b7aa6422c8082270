"""Each user's storage use, and the quota enforced at upload."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.datasets.storage import incoming_dir
from builder.models import Dataset
from tests.api.conftest import add_artifact, make_job
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db


def big_csv(rows: int, seed: int) -> bytes:
    return b"a,b,label\n" + b"".join(f"{i * seed},{i * 2 + seed},{'xy'[i % 2]}\n".encode() for i in range(rows))


def upload(client: Any, content: bytes) -> Any:
    data = {"file": SimpleUploadedFile("t.csv", content, content_type="text/csv"), "kind": "tabular"}
    return client.post("/api/datasets/", data, format="multipart")


def test_usage_counts_the_users_datasets_and_jobs(alice_api: Any, alice: Any, alice_dataset: Any, settings) -> None:
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 5
    assert alice_api.get("/api/usage/").json() == {
        "used_bytes": 0, "quota_bytes": 5 * 1024**2, "datasets_bytes": 0, "jobs_bytes": 0,
        "active_jobs": 0, "active_jobs_limit": 4, "estimates": 0, "estimates_limit": 3, "endpoints": 0,
        "endpoints_limit": 20,
    }  # fmt: skip
    content = big_csv(100, 3)
    assert upload(alice_api, content).status_code == 201
    add_artifact(make_job(alice, alice_dataset, status="succeeded"), content=b"m" * 1234)
    body = alice_api.get("/api/usage/").json()
    assert body["datasets_bytes"] == len(content) and body["jobs_bytes"] == 1234
    assert body["used_bytes"] == len(content) + 1234
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 0
    assert alice_api.get("/api/usage/").json()["quota_bytes"] is None


def test_an_upload_past_the_quota_is_refused_and_leaves_nothing(alice_api: Any, bob_api: Any, settings) -> None:
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 1
    first, second = big_csv(45_000, 1), big_csv(45_000, 2)
    assert 0.5 * 1024**2 < len(first) < 1024**2
    assert upload(alice_api, first).status_code == 201
    incoming = set(incoming_dir().glob("upload-*"))  # other tests' requests may have left some
    response = upload(alice_api, second)
    assert response.status_code == 400, response.json()
    error = response.json()["errors"][0]
    assert error["field"] == "file" and "1.0 MiB storage quota" in error["message"] and "Delete" in error["message"]
    assert Dataset.objects.count() == 1 and set(incoming_dir().glob("upload-*")) == incoming
    # The quota is per user: Bob's first upload of the same bytes is fine.
    assert upload(bob_api, second).status_code == 201


def test_a_job_past_the_quota_is_refused_with_both_figures(
    alice_api: Any, alice: Any, alice_dataset: Any, alice_architecture: Any, settings: Any
) -> None:
    """Only uploads were refused: with a 1 MB quota, two jobs wrote 504 MiB and a third was accepted."""
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 20
    body = {"architecture": alice_architecture.pk, "dataset": alice_dataset.pk, "framework": "torch"}
    first = alice_api.post("/api/jobs/", body, format="json")
    assert first.status_code == 201, first.json()
    # The first job ran and wrote more than the quota (a job that passes it while running finishes).
    add_artifact(TrainingJob.objects.get(pk=first.json()["id"]), content=b"m" * (21 * 1024**2))
    TrainingJob.objects.filter(pk=first.json()["id"]).update(status="succeeded")
    refused = alice_api.post("/api/jobs/", body, format="json")
    assert refused.status_code == 400, refused.json()
    (error,) = refused.json()["errors"]
    assert error["field"] == "quota"
    assert "you already use 21.0 MiB of your 20.0 MiB storage quota" in error["message"]
    assert "This job (its checkpoint and model files, estimated) needs" in error["message"]
    assert TrainingJob.objects.filter(owner=alice).count() == 1
    # Under the quota, a job whose files would pass it is refused too: it is charged before it runs.
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 22
    assert alice_api.post("/api/jobs/", body, format="json").status_code == 400
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 40
    assert alice_api.post("/api/jobs/", body, format="json").status_code == 201
