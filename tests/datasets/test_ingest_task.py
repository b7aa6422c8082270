"""Ingestion through Django and a real Celery worker process, and the task's state rules."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from builder.datasets.arrays import load_split
from builder.datasets.ingest import claim, run_ingest
from builder.datasets.upload import create_dataset_from_upload
from builder.models import Dataset
from tests.datasets.factories import image_zip, iris_like

WAIT_SECONDS = 90


def wait_until_settled(pk: int) -> Dataset:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        dataset = Dataset.objects.get(pk=pk)
        if dataset.status in ("ready", "failed"):
            return dataset
        time.sleep(0.2)
    raise AssertionError(f"dataset {pk} still {dataset.status} after {WAIT_SECONDS}s")


@pytest.mark.django_db(transaction=True)
def test_worker_ingests_a_table_and_an_image_zip(alice, celery_worker):
    table = create_dataset_from_upload(
        alice, SimpleUploadedFile("iris.csv", iris_like()), "Iris", "tabular", {"target_column": "species"}
    )
    images = create_dataset_from_upload(
        alice,
        SimpleUploadedFile("pets.zip", image_zip({"cats": 5, "dogs": 5})),
        "Pets",
        "images",
        {"image_size": [6, 6]},
    )
    table = wait_until_settled(table.pk)
    assert table.status == "ready", table.error
    assert table.task == "classification" and table.num_classes == 3 and table.input_shape == [5]
    assert table.class_names == ["setosa", "versicolor", "virginica"]
    assert table.profile["splits"] == {"train": 54, "val": 18, "test": 18}  # small data: 60/20/20
    X, y = load_split(table.version_dir, "train")
    assert X.shape == (54, 5) and y.shape == (54,)
    assert (table.version_dir / "preprocessing.json").exists()
    assert "Task builder.ingest_dataset[" in celery_worker.log()

    images = wait_until_settled(images.pk)
    assert images.status == "ready", images.error
    assert images.input_shape == [6, 6, 3] and images.num_classes == 2
    X, _ = load_split(images.version_dir, "test")
    assert X.shape[1:] == (6, 6, 3) and np.isfinite(X).all()


@pytest.mark.django_db(transaction=True)
def test_worker_failure_is_explained_and_leaves_no_files(alice, celery_worker):
    dataset = create_dataset_from_upload(
        alice, SimpleUploadedFile("h.csv", b"a,b,label\n"), "Header only", "tabular", {}
    )
    assert dataset.data_dir.exists()
    dataset = wait_until_settled(dataset.pk)
    assert dataset.status == "failed"
    assert dataset.error == "The file has a header row but no data rows."
    assert not dataset.data_dir.exists() and dataset.source == ""


@pytest.mark.django_db
def test_a_repeated_message_is_a_no_op(alice, settings, tmp_path, enqueued):
    settings.LAYERLOOM_DATA_ROOT = tmp_path
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile("i.csv", iris_like()), "Iris", "tabular", {})
    assert run_ingest(dataset.pk) == "ready"
    stamp = Dataset.objects.get(pk=dataset.pk).updated
    assert run_ingest(dataset.pk) == "skipped"
    assert Dataset.objects.get(pk=dataset.pk).updated == stamp


@pytest.mark.django_db
def test_only_one_claim_wins_and_a_stale_claim_is_taken_over(alice, settings, tmp_path, enqueued):
    settings.LAYERLOOM_DATA_ROOT = tmp_path
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile("i.csv", iris_like()), "Iris", "tabular", {})
    assert claim(dataset.pk) is True
    assert claim(dataset.pk) is False  # taken by another worker, recently
    Dataset.objects.filter(pk=dataset.pk).update(updated=timezone.now() - timedelta(hours=3))
    assert run_ingest(dataset.pk) == "ready"  # its worker died: taken over
    assert Dataset.objects.get(pk=dataset.pk).status == "ready"


@pytest.mark.django_db
def test_a_dataset_deleted_during_ingestion_leaves_no_files(alice, settings, tmp_path, enqueued, monkeypatch):
    settings.LAYERLOOM_DATA_ROOT = tmp_path
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile("i.csv", iris_like()), "Iris", "tabular", {})
    from builder.datasets import ingest

    real = ingest.materialise

    def materialise_then_delete(*args, **kwargs):
        result = real(*args, **kwargs)
        Dataset.objects.filter(pk=dataset.pk).delete()
        return result

    monkeypatch.setattr(ingest, "materialise", materialise_then_delete)
    assert run_ingest(dataset.pk) == "skipped"
    assert not dataset.data_dir.exists()


@pytest.mark.django_db
def test_an_unexpected_error_is_reported_without_internals(alice, settings, tmp_path, enqueued, monkeypatch):
    settings.LAYERLOOM_DATA_ROOT = tmp_path
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile("i.csv", iris_like()), "Iris", "tabular", {})
    from builder.datasets import ingest

    def broken(*args, **kwargs):
        raise KeyError("secret internal detail")

    monkeypatch.setattr(ingest, "materialise", broken)
    assert run_ingest(dataset.pk) == "failed"
    dataset.refresh_from_db()
    assert dataset.error.startswith("Ingestion stopped because of an internal error") and "secret" not in dataset.error
    assert not dataset.data_dir.exists()


def test_ingest_is_sent_to_the_default_queue(monkeypatch):
    from builder.datasets import upload
    from builder.tasks import ingest_dataset

    sent = []
    monkeypatch.setattr(
        ingest_dataset, "apply_async", lambda args, queue: sent.append((ingest_dataset.name, args, queue))
    )
    upload.enqueue_ingest(7)
    assert sent == [("builder.ingest_dataset", (7,), "default")]
