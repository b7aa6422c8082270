"""DELETE for jobs, datasets and architectures: the rules, the 409s, and the files freed."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture, Dataset
from tests.api.conftest import add_artifact, make_job
from workers.models import Artifact, Metric, TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """Files are removed once the delete commits; run those callbacks inside the test's transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_active_job_is_not_deleted(alice_api: Any, alice: Any, alice_dataset: Any, status: str) -> None:
    job = make_job(alice, alice_dataset, status=status)
    add_artifact(job)
    response = alice_api.delete(f"/api/jobs/{job.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert status in response.json()["message"] and "cancel" in response.json()["message"]
    assert TrainingJob.objects.filter(pk=job.pk).exists() and job.artifacts_dir.exists()


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_a_finished_job_goes_with_its_rows_and_files(
    alice_api: Any, alice: Any, alice_dataset: Any, on_commit: Any, status: str
) -> None:
    job = make_job(alice, alice_dataset, status=status)
    add_artifact(job)
    (job.checkpoint_dir).mkdir(parents=True)
    (job.checkpoint_dir / "state.pt").write_bytes(b"x" * 100)
    Metric.objects.create(job=job, epoch=1, values={"loss": 1.0})
    with on_commit():
        assert alice_api.delete(f"/api/jobs/{job.pk}/").status_code == 204
    assert not TrainingJob.objects.filter(pk=job.pk).exists()
    assert not Artifact.objects.exists() and not Metric.objects.exists()
    assert not job.job_dir.exists()
    assert alice_api.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert Dataset.objects.filter(pk=alice_dataset.pk).exists()


def test_a_dataset_with_jobs_goes_with_them_when_asked(
    alice_api: Any, alice: Any, alice_dataset: Any, on_commit: Any
) -> None:
    jobs = [make_job(alice, alice_dataset, status="succeeded") for _ in range(2)]
    for job in jobs:
        add_artifact(job)
    alice_dataset.version_dir.mkdir(parents=True)
    (alice_dataset.version_dir / "X_train.npy").write_bytes(b"0" * 64)
    refused = alice_api.delete(f"/api/datasets/{alice_dataset.pk}/")
    assert refused.status_code == 409
    assert all(str(job.pk) in refused.json()["message"] for job in jobs) and "with_jobs" in refused.json()["message"]
    with on_commit():
        assert alice_api.delete(f"/api/datasets/{alice_dataset.pk}/?with_jobs=true").status_code == 204
    assert not Dataset.objects.exists() and not TrainingJob.objects.exists() and not Artifact.objects.exists()
    assert not alice_dataset.data_dir.exists() and not any(job.job_dir.exists() for job in jobs)


def test_with_jobs_still_refuses_while_one_runs(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    done = make_job(alice, alice_dataset, status="succeeded")
    running = make_job(alice, alice_dataset, status="running")
    response = alice_api.delete(f"/api/datasets/{alice_dataset.pk}/?with_jobs=true")
    assert response.status_code == 409 and f"{running.pk} (running)" in response.json()["message"]
    assert TrainingJob.objects.filter(pk__in=[done.pk, running.pk]).count() == 2
    assert Dataset.objects.filter(pk=alice_dataset.pk).exists()


def test_with_jobs_must_be_a_boolean(alice_api: Any, alice_dataset: Any) -> None:
    response = alice_api.delete(f"/api/datasets/{alice_dataset.pk}/?with_jobs=perhaps")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "with_jobs"
    assert Dataset.objects.filter(pk=alice_dataset.pk).exists()


def test_an_architecture_goes_and_its_jobs_keep_their_spec(
    alice_api: Any, alice: Any, alice_dataset: Any, alice_architecture: Any
) -> None:
    job = make_job(alice, alice_dataset, alice_architecture, status="succeeded")
    assert alice_api.delete(f"/api/architectures/{alice_architecture.pk}/").status_code == 204
    assert not Architecture.objects.exists()
    job.refresh_from_db()
    assert job.architecture is None and job.spec == alice_architecture.spec
