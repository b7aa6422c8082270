"""Upload, ingest, train and delete through the API: the data root returns to its starting state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.models import Dataset
from tests.api.conftest import token_client
from tests.datasets.factories import iris_like
from tests.workers.helpers import hp, wait_for, wait_status
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = {
    "format": 1, "name": "iris-mlp", "input": {"shape": [5]},
    "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ],
}  # fmt: skip


def files_under(root: Path) -> dict[str, int]:
    """Every file and folder under the data root with its size: what "the same state" means here."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root) + "/"] = 0
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = os.lstat(path).st_size
    return found


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_deleting_returns_the_data_root_to_its_starting_size(celery_worker: Any, alice: Any, framework: str):
    root = Path(settings.LAYERLOOM_DATA_ROOT)
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    (root / "datasets").mkdir(exist_ok=True)
    (root / "jobs").mkdir(exist_ok=True)
    before = files_under(root)
    api = token_client(alice)

    upload = {"file": SimpleUploadedFile("iris.csv", iris_like(120)), "kind": "tabular", "name": "iris",
              "options": '{"target_column": "species"}'}  # fmt: skip
    response = api.post("/api/datasets/", upload, format="multipart")
    assert response.status_code == 201, response.json()
    dataset = Dataset.objects.get(pk=response.json()["id"])

    def ready() -> bool:
        dataset.refresh_from_db()
        return dataset.status in (Dataset.Status.READY, Dataset.Status.FAILED)

    wait_for(ready, 120, what="ingestion")
    assert dataset.status == Dataset.Status.READY, dataset.error
    assert dataset.input_shape == [5], dataset.input_shape
    body = {"framework": framework, "dataset": dataset.pk, "spec": SPEC, "hyperparameters": hp(epochs=2)}
    response = api.post("/api/jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    job = wait_status(TrainingJob.objects.get(pk=response.json()["id"]), *TrainingJob.FINISHED, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error

    # The checkpoint goes just after the status says succeeded: measure once it is gone.
    wait_for(lambda: not job.checkpoint_dir.exists(), 30, what="the finished job's checkpoint removal")
    assert job.artifacts_dir.is_dir()
    used = api.get("/api/usage/").json()
    assert used["datasets_bytes"] > 0 and used["jobs_bytes"] > 0
    grown = sum(files_under(root).values()) - sum(before.values())
    assert grown == used["used_bytes"]  # every byte added is counted against Alice

    assert api.delete(f"/api/datasets/{dataset.pk}/").status_code == 409  # the job uses it
    assert api.delete(f"/api/datasets/{dataset.pk}/?with_jobs=true").status_code == 204
    assert files_under(root) == before
    assert api.get("/api/usage/").json()["used_bytes"] == 0


def test_every_way_of_deleting_a_row_frees_its_folder(alice: Any, bob: Any) -> None:
    from tests.api.conftest import add_artifact, make_job
    from tests.workers.helpers import make_dataset

    dataset = make_dataset(alice, "tabular", n=40)
    jobs = [make_job(alice, dataset, status="succeeded") for _ in range(2)]
    for job in jobs:
        add_artifact(job)
    TrainingJob.objects.filter(pk=jobs[0].pk).delete()  # a queryset, as in a shell
    assert not jobs[0].job_dir.exists() and jobs[1].job_dir.exists()
    jobs[1].delete()
    assert not jobs[1].job_dir.exists() and dataset.data_dir.exists()
    bobs = make_dataset(bob, "tabular", n=40)
    bob.delete()  # the user's rows go by cascade, and their folders with them
    assert not bobs.data_dir.exists() and dataset.data_dir.exists()


def test_a_rolled_back_delete_keeps_the_files(alice: Any) -> None:
    from django.db import transaction

    from tests.workers.helpers import make_dataset

    dataset = make_dataset(alice, "tabular", n=40)
    with pytest.raises(RuntimeError), transaction.atomic():
        Dataset.objects.filter(pk=dataset.pk).delete()
        raise RuntimeError("something later in the same transaction failed")
    assert Dataset.objects.filter(pk=dataset.pk).exists() and (dataset.version_dir / "X_train.npy").exists()
