"""Jobs through the API: submit, list with filters, read, metrics polling, cancel, retry, artifacts."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.api.conftest import make_job
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_consumer(settings: Any) -> None:
    # Submitted jobs go to a queue no worker reads: these tests are about the API, not training.
    settings.LAYERLOOM_TRAINING_QUEUE = "api-tests-unconsumed"


def submit(client: Any, **body: Any) -> Any:
    return client.post("/api/jobs/", body, format="json")


def test_submit_with_architecture(alice_api: Any, alice_architecture: Any, alice_dataset: Any) -> None:
    response = submit(alice_api, architecture=alice_architecture.pk, dataset=alice_dataset.pk, framework="torch",
                      hyperparameters={"epochs": 3, "learning_rate": 0.01})  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["framework"] == "torch"
    assert body["hyperparameters"]["epochs"] == 3 and body["hyperparameters"]["optimizer"] == "adam"
    assert body["spec"] == alice_architecture.spec


def test_submit_with_inline_spec(alice_api: Any, alice_dataset: Any, mlp_spec: dict[str, Any]) -> None:
    response = submit(alice_api, spec=mlp_spec, dataset=alice_dataset.pk, framework="keras")
    assert response.status_code == 201, response.json()
    assert TrainingJob.objects.get().architecture is None


def test_bad_hyperparameters_are_named(alice_api: Any, alice_architecture: Any, alice_dataset: Any) -> None:
    response = submit(alice_api, architecture=alice_architecture.pk, dataset=alice_dataset.pk, framework="keras",
                      hyperparameters={"epochs": 0, "nope": 1})  # fmt: skip
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert "hyperparameters.epochs" in fields and "nope" in " ".join(fields)
    assert not TrainingJob.objects.exists()


def test_dataset_not_ready_is_refused(alice_api: Any, alice_architecture: Any, alice_dataset: Any) -> None:
    alice_dataset.status = "processing"
    alice_dataset.save()
    response = submit(alice_api, architecture=alice_architecture.pk, dataset=alice_dataset.pk, framework="keras")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "dataset"


def test_unknown_dataset_is_404_naming_the_field(alice_api: Any, alice_architecture: Any) -> None:
    response = submit(alice_api, architecture=alice_architecture.pk, dataset=999999, framework="keras")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "dataset"


def test_quota(alice_api: Any, alice: Any, alice_architecture: Any, alice_dataset: Any, settings: Any) -> None:
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 2
    codes = [
        submit(alice_api, architecture=alice_architecture.pk, dataset=alice_dataset.pk, framework="keras").status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 400]
    last = submit(alice_api, architecture=alice_architecture.pk, dataset=alice_dataset.pk, framework="keras").json()
    assert last["errors"][0]["field"] == "quota"


def test_list_filters(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    make_job(alice, alice_dataset, status="failed")
    queued = make_job(alice, alice_dataset, status="queued")
    TrainingJob.objects.filter(pk=queued.pk).update(framework="torch")
    assert alice_api.get("/api/jobs/").json()["count"] == 2
    assert [j["id"] for j in alice_api.get("/api/jobs/?status=queued").json()["results"]] == [queued.pk]
    assert [j["id"] for j in alice_api.get("/api/jobs/?framework=torch").json()["results"]] == [queued.pk]
    assert alice_api.get(f"/api/jobs/?dataset={alice_dataset.pk}").json()["count"] == 2
    assert alice_api.get("/api/jobs/?dataset=0").json()["count"] == 0
    assert alice_api.get("/api/jobs/?dataset__owner=1").status_code == 400


def test_metrics_since(alice_api: Any, alice_job: Any) -> None:
    body = alice_api.get(f"/api/jobs/{alice_job.pk}/metrics/").json()
    assert body["status"] == "succeeded" and [m["epoch"] for m in body["results"]] == [1, 2]
    body = alice_api.get(f"/api/jobs/{alice_job.pk}/metrics/?since_epoch=1").json()
    assert [m["epoch"] for m in body["results"]] == [2]
    assert alice_api.get(f"/api/jobs/{alice_job.pk}/metrics/?since_step=20").json()["results"] == []


def test_cancel_queued_then_conflict(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    job = make_job(alice, alice_dataset)
    response = alice_api.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = alice_api.post(f"/api/jobs/{job.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_cancel_running_sets_the_flag(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    job = make_job(alice, alice_dataset, status="running")
    assert alice_api.post(f"/api/jobs/{job.pk}/cancel/").json()["cancel_requested"] is True


def test_retry_failed_job(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    job = make_job(alice, alice_dataset, status="failed")
    response = alice_api.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 201
    assert response.json()["retry_of"] == job.pk and response.json()["status"] == "queued"
    assert alice_api.post(f"/api/jobs/{response.json()['id']}/retry/").status_code == 409


def test_artifacts_list_and_download(alice_api: Any, alice_job: Any) -> None:
    [artifact] = alice_api.get(f"/api/jobs/{alice_job.pk}/artifacts/").json()
    assert artifact["filename"] == "model.onnx" and artifact["size_bytes"] == len(b"onnx-bytes")
    assert artifact["sha256"] == hashlib.sha256(b"onnx-bytes").hexdigest()
    response = alice_api.get(artifact["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"onnx-bytes"
    assert "model.onnx" in response["Content-Disposition"]
    assert alice_api.get(f"/api/jobs/{alice_job.pk}/artifacts/999999/").status_code == 404


def test_download_refuses_paths_outside_the_data_root(alice_api: Any, alice_job: Any) -> None:
    artifact = alice_job.artifacts.get()
    artifact.path = "../../../../etc/passwd"
    artifact.save()
    assert alice_api.get(f"/api/jobs/{alice_job.pk}/artifacts/{artifact.pk}/").status_code == 404
