"""Datasets through the API: streaming multipart upload with caps, list, read, delete."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.models import Dataset
from tests.api.conftest import make_job

pytestmark = pytest.mark.django_db

CSV = b"a,b,label\n" + b"".join(f"{i},{i * 2},{'xy'[i % 2]}\n".encode() for i in range(40))


def upload(client: Any, content: bytes = CSV, **fields: Any) -> Any:
    data = {"file": SimpleUploadedFile("iris.csv", content, content_type="text/csv"), "kind": "tabular", **fields}
    return client.post("/api/datasets/", data, format="multipart")


def test_upload_csv_creates_a_pending_dataset(alice_api: Any, alice: Any) -> None:
    response = upload(alice_api, name="iris", options='{"target_column": "label"}')
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["name"] == "iris"
    assert body["sha256"] == hashlib.sha256(CSV).hexdigest() and body["size_bytes"] == len(CSV)
    dataset = Dataset.objects.get(pk=body["id"])
    assert dataset.owner == alice and dataset.options["target_column"] == "label"


def test_same_upload_again_returns_the_existing_dataset(alice_api: Any) -> None:
    first = upload(alice_api).json()
    again = upload(alice_api)
    assert again.status_code == 200 and again.json()["id"] == first["id"]


def test_bad_fields_are_named_and_nothing_is_stored(alice_api: Any) -> None:
    response = upload(alice_api, kind="spreadsheet")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "kind"
    response = upload(alice_api, options='{"target_column": "nope"}')
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "target_column"
    response = upload(alice_api, options="not json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "options"
    assert not Dataset.objects.exists()


def test_missing_file_is_named(alice_api: Any) -> None:
    response = alice_api.post("/api/datasets/", {"kind": "tabular"}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "file"


def test_size_cap_is_413_naming_the_file(alice_api: Any, settings: Any) -> None:
    settings.LAYERLOOM_MAX_UPLOAD_BYTES = 100
    response = upload(alice_api)
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "file"
    assert "upload limit" in response.json()["message"]
    assert not Dataset.objects.exists()


def test_number_of_files_is_capped(alice_api: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    data = {"file": [SimpleUploadedFile("a.csv", CSV), SimpleUploadedFile("b.csv", CSV)], "kind": "tabular"}
    response = alice_api.post("/api/datasets/", data, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"
    assert not Dataset.objects.exists()


def test_two_files_under_the_cap_are_still_refused(alice_api: Any) -> None:
    data = {"file": [SimpleUploadedFile("a.csv", CSV), SimpleUploadedFile("b.csv", CSV)], "kind": "tabular"}
    response = alice_api.post("/api/datasets/", data, format="multipart")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "file"


def test_list_read_delete(alice_api: Any, alice_dataset: Any, django_capture_on_commit_callbacks: Any) -> None:
    assert alice_api.get("/api/datasets/").json()["results"][0]["id"] == alice_dataset.pk
    body = alice_api.get(f"/api/datasets/{alice_dataset.pk}/").json()
    assert body["input_shape"] == [16] and body["num_classes"] == 3
    alice_dataset.data_dir.mkdir(parents=True, exist_ok=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/datasets/{alice_dataset.pk}/").status_code == 204
    assert not Dataset.objects.exists() and not alice_dataset.data_dir.exists()


def test_delete_refused_while_jobs_use_it(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    make_job(alice, alice_dataset)
    job = make_job(alice, alice_dataset)
    response = alice_api.delete(f"/api/datasets/{alice_dataset.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "dataset_in_use"
    assert f"({job.pk - 1}, {job.pk})" in response.json()["message"]  # names the jobs
    assert Dataset.objects.filter(pk=alice_dataset.pk).exists()


def test_session_upload_without_csrf_is_403_and_stores_nothing(alice: Any) -> None:
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/api/datasets/", {"file": SimpleUploadedFile("a.csv", CSV), "kind": "tabular"},
                           format="multipart")  # fmt: skip
    assert response.status_code == 403
    assert not Dataset.objects.exists()
