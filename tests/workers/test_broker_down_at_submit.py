"""The broker is down when a job is submitted: the API says so (503) and the job fails with the
reason, instead of sitting queued forever with no message that a worker could ever take."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from builder.models import Architecture
from tests.support.redis_server import broker_of, redis_server
from tests.workers.helpers import SPECS, hp, make_dataset
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down(tmp_path: Path) -> Iterator[None]:
    """On Redis, this process sends to a Redis of its own that is then stopped (the shared one stays
    up); on the embedded broker, the queue folder is taken away."""
    if settings.CELERY_BROKER_IS_FILESYSTEM:
        queue = Path(settings.BROKER_DIR) / "queue"
        away = queue.with_name("queue.down")
        shutil.move(queue, away)
        try:
            yield
        finally:
            shutil.move(away, queue)
        return
    from webapp.celery import app

    with redis_server(tmp_path / "redis") as server, broker_of(app, server.url):
        server.stop()
        yield


def test_a_job_submitted_while_the_broker_is_down_fails_saying_so(alice: Any, alice_client: Any, broker_down: None):
    dataset = make_dataset(alice, "tabular")
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    body = {"architecture": architecture.pk, "dataset": dataset.pk, "framework": "torch", "hyperparameters": hp()}
    response = alice_client.post("/api/jobs/", body, content_type="application/json")
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "30"
    answer = response.json()
    assert answer["code"] == "unavailable" and "could not be queued: the broker did not take it" in answer["message"]
    job = TrainingJob.objects.get(owner=alice)
    assert job.status == TrainingJob.Status.FAILED and job.finished_at is not None
    assert job.error == answer["message"] and "retry the job once the broker is back" in job.error
    # Not counted against the active-job limit: the person can retry once the broker is back.
    assert not TrainingJob.objects.filter(owner=alice, status__in=TrainingJob.ACTIVE).exists()
