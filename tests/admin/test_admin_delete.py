"""Deleting from the admin frees the files too; active jobs and datasets in use are refused."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Dataset
from tests.api.conftest import add_artifact, make_job
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)  # file removal runs when the delete commits


@pytest.fixture
def dataset(alice: Any) -> Dataset:
    ds = Dataset.objects.create(owner=alice, name="table", kind="tabular", status="ready", sha256="0" * 64,
                                task="classification", input_shape=[16], num_classes=3)  # fmt: skip
    ds.version_dir.mkdir(parents=True)
    (ds.version_dir / "X_train.npy").write_bytes(b"0" * 32)
    return ds


def post_action(admin_client: Any, url: str, action: str, *pks: int) -> str:
    response = admin_client.post(url, {"action": action, "_selected_action": list(pks)}, follow=True)
    return response.content.decode()


def test_job_action_deletes_finished_jobs_with_files_and_refuses_active(admin_client: Any, alice: Any, dataset):
    done, running = make_job(alice, dataset, status="failed"), make_job(alice, dataset, status="running")
    add_artifact(done), add_artifact(running)
    html = post_action(admin_client, "/admin/workers/trainingjob/", "delete_jobs", done.pk, running.pk)
    assert f"Deleted job(s) {done.pk}." in html and f"Not deleted job {running.pk}" in html
    assert list(TrainingJob.objects.values_list("pk", flat=True)) == [running.pk]
    assert not done.job_dir.exists() and running.job_dir.exists()
    assert "delete_selected" not in admin_client.get("/admin/workers/trainingjob/").content.decode()


def test_job_change_page_delete_frees_files(admin_client: Any, alice: Any, dataset) -> None:
    job = make_job(alice, dataset, status="succeeded")
    add_artifact(job)
    response = admin_client.post(f"/admin/workers/trainingjob/{job.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TrainingJob.objects.exists() and not job.job_dir.exists()
    running = make_job(alice, dataset, status="running")
    assert admin_client.post(f"/admin/workers/trainingjob/{running.pk}/delete/", {"post": "yes"}).status_code == 403


def test_dataset_actions(admin_client: Any, alice: Any, dataset: Dataset) -> None:
    job = make_job(alice, dataset, status="succeeded")
    add_artifact(job)
    url = "/admin/builder/dataset/"
    html = post_action(admin_client, url, "delete_datasets", dataset.pk)
    assert "Not deleted" in html and str(job.pk) in html and Dataset.objects.exists()
    html = post_action(admin_client, url, "delete_datasets_with_jobs", dataset.pk)
    assert f"Deleted dataset(s) {dataset.pk} (with jobs {job.pk})." in html
    assert not Dataset.objects.exists() and not TrainingJob.objects.exists()
    assert not dataset.data_dir.exists() and not job.job_dir.exists()
