"""The job admin: list columns, filters, search, and cancel / retry / requeue on job rows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from builder.models import Architecture, Dataset
from builder.spec import presets
from workers.models import Artifact, Metric, TrainingJob

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/workers/trainingjob/"


@pytest.fixture(autouse=True)
def _no_consumer(settings: Any) -> None:
    settings.LAYERLOOM_TRAINING_QUEUE = "admin-tests-unconsumed"


@pytest.fixture
def dataset(alice: Any) -> Dataset:
    return Dataset.objects.create(owner=alice, name="table", kind="tabular", status="ready", sha256="0" * 64,
                                  task="classification", input_shape=[16], num_classes=3)  # fmt: skip


def job(owner: Any, dataset: Dataset, status: str = "queued", **fields: Any) -> TrainingJob:
    architecture = Architecture.objects.filter(owner=owner).first() or Architecture.objects.create(
        owner=owner, name="mlp", spec=presets()["mlp"]
    )
    return TrainingJob.objects.create(owner=owner, architecture=architecture, spec=architecture.spec, dataset=dataset,
                                      dataset_version=1, framework="keras", status=status, **fields)  # fmt: skip


def act(admin_client: Any, action: str, *jobs: TrainingJob) -> Any:
    return admin_client.post(CHANGELIST, {"action": action, "_selected_action": [j.pk for j in jobs]}, follow=True)


def test_changelist_columns(admin_client: Any, alice: Any, dataset: Dataset) -> None:
    now = timezone.now()
    running = job(alice, dataset, "running", epoch=3, total_epochs=10, percent=30.0, device_name="NVIDIA H100",
                  worker_host="w1@host", started_at=now - timedelta(seconds=125))  # fmt: skip
    Metric.objects.create(job=running, epoch=3, step=30, values={"loss": 0.5, "val_accuracy": 0.875})
    done = job(alice, dataset, "succeeded", evaluation={"accuracy": 0.9125}, started_at=now - timedelta(hours=1),
               finished_at=now)  # fmt: skip
    html = admin_client.get(CHANGELIST).content.decode()
    for text in ("30%", "epoch 3/10", "NVIDIA H100", "w1@host", "val_accuracy 0.8750",
                 "test accuracy 0.9125", "1:00:00"):  # fmt: skip
        assert text in html, text
    # A running job's duration counts up to the moment the page renders: 2:05 and a few seconds more.
    assert re.search(r">2:0[5-9]<", html), "running job's duration"
    assert f"/admin/workers/trainingjob/{done.pk}/change/" in html


@pytest.mark.parametrize(
    "query",
    ["status__exact=running", "framework__exact=keras", "queue__exact=training", "q=alice", "q=w1",
     "created__year=2026", "owner__id__exact=1"],
)  # fmt: skip
def test_filters_and_search_answer(admin_client: Any, alice: Any, dataset: Dataset, query: str) -> None:
    job(alice, dataset, "running", worker_host="w1@host")
    assert admin_client.get(f"{CHANGELIST}?{query}").status_code == 200


def test_filter_by_status_and_search(admin_client: Any, alice: Any, bob: Any, dataset: Dataset) -> None:
    mine = job(alice, dataset, "running")
    other = job(alice, dataset, "failed")
    html = admin_client.get(f"{CHANGELIST}?status__exact=running").content.decode()
    assert f"/trainingjob/{mine.pk}/change/" in html and f"/trainingjob/{other.pk}/change/" not in html
    assert "0 results" in admin_client.get(f"{CHANGELIST}?q=nobody-by-this-name").content.decode()


def test_change_page_shows_metrics_and_artifacts_read_only(admin_client: Any, alice: Any, dataset: Dataset) -> None:
    j = job(alice, dataset, "succeeded")
    Metric.objects.create(job=j, epoch=1, step=10, values={"loss": 0.25})
    Artifact.objects.create(job=j, kind="onnx", filename="model.onnx", path="jobs/x/model.onnx", size_bytes=10,
                            sha256="ab" * 32)  # fmt: skip
    html = admin_client.get(f"/admin/workers/trainingjob/{j.pk}/change/").content.decode()
    assert "model.onnx" in html and "0.25" in html
    assert 'name="metrics-0-epoch"' not in html  # not an editable field
    assert admin_client.get("/admin/workers/trainingjob/add/").status_code == 403


def test_cancel_action(admin_client: Any, alice: Any, dataset: Dataset) -> None:
    queued, done = job(alice, dataset), job(alice, dataset, "succeeded")
    running = job(alice, dataset, "running", heartbeat_at=timezone.now())  # a live run
    response = act(admin_client, "cancel_jobs", queued, running, done)
    queued.refresh_from_db(), running.refresh_from_db(), done.refresh_from_db()
    assert queued.status == "cancelled"
    assert running.status == "running" and running.cancel_requested  # the worker stops it
    assert done.status == "succeeded"
    text = response.content.decode()
    assert f"Cancelled job(s) {queued.pk}, {running.pk}." in text and "already finished" in text


def test_retry_action(admin_client: Any, alice: Any, dataset: Dataset) -> None:
    failed, running = job(alice, dataset, "failed"), job(alice, dataset, "running")
    response = act(admin_client, "retry_jobs", failed, running)
    retry = TrainingJob.objects.get(retry_of=failed)
    assert retry.status == "queued" and retry.owner == alice and retry.spec == failed.spec
    assert not TrainingJob.objects.filter(retry_of=running).exists()
    assert "Only a failed or cancelled job can be retried" in response.content.decode()


def test_requeue_action(admin_client: Any, alice: Any, dataset: Dataset) -> None:
    stale = job(alice, dataset, "running", worker_host="dead@host", heartbeat_at=timezone.now() - timedelta(hours=1))
    alive = job(alice, dataset, "running", worker_host="w@host", heartbeat_at=timezone.now())
    response = act(admin_client, "requeue_jobs", stale, alive)
    stale.refresh_from_db(), alive.refresh_from_db()
    assert stale.status == "queued" and stale.worker_host == ""
    assert alive.status == "running" and alive.worker_host == "w@host"
    assert "worker is alive" in response.content.decode()


def test_a_job_cancelled_while_stuck_ends_cancelled_and_requeue_really_sends_it_again(
    admin_client: Any, alice: Any, dataset: Dataset, django_capture_on_commit_callbacks: Any
) -> None:
    stuck = job(alice, dataset, "running", worker_host="dead@host", heartbeat_at=timezone.now() - timedelta(hours=1),
                run_token="old", attempts=1)  # fmt: skip
    act(admin_client, "cancel_jobs", stuck)
    stuck.refresh_from_db()
    assert stuck.status == "cancelled" and stuck.finished_at  # not "cancelling" forever
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = act(admin_client, "requeue_jobs", stuck)
    stuck.refresh_from_db()
    assert f"Requeued job(s) {stuck.pk}." in response.content.decode()
    assert stuck.status == "queued" and not stuck.cancel_requested and stuck.finished_at is None
    assert len(sent) == 1  # the job's id is sent to the queue once the requeue commits


def test_admin_is_staff_only(client: Any, alice: Any) -> None:
    client.force_login(alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_change_page_shows_metrics_as_one_table_and_artifacts_as_downloads(
    admin_client: Any, alice: Any, dataset: Dataset
) -> None:
    from tests.api.conftest import add_artifact

    j = job(alice, dataset, "succeeded")
    for epoch in range(1, 4):
        Metric.objects.create(job=j, epoch=epoch, step=epoch * 10, values={"loss": 1 / epoch, "val_loss": 2 / epoch})
    artifact = add_artifact(j, "model.onnx", b"some onnx bytes")
    html = admin_client.get(f"/admin/workers/trainingjob/{j.pk}/change/").content.decode()
    assert "<th>epoch</th><th>loss</th><th>val_loss</th>" in html
    assert "<tr><td>3</td><td>0.3333</td><td>0.6667</td></tr>" in html
    url = f"/admin/workers/trainingjob/{j.pk}/artifacts/{artifact.pk}/"
    assert f'<a href="{url}" download>model.onnx</a>' in html
    response = admin_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"some onnx bytes"
    assert admin_client.get(f"/admin/workers/trainingjob/{j.pk + 1}/artifacts/{artifact.pk}/").status_code == 404


def test_staff_only_download_artifacts_from_the_admin(client: Any, alice: Any, dataset: Dataset) -> None:
    from tests.api.conftest import add_artifact

    artifact = add_artifact(job(alice, dataset, "succeeded"))
    client.force_login(alice)  # the owner, but not staff: the admin is not hers
    response = client.get(f"/admin/workers/trainingjob/{artifact.job_id}/artifacts/{artifact.pk}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
