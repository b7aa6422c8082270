"""POST /api/jobs/estimate/: a real dry run of a few batches on a real worker, queued and polled,
nothing stored; another user's estimate is a 404."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from builder.models import Architecture
from tests.workers.helpers import SPECS, hp, make_dataset
from workers.models import Estimate, TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


def poll(client: Any, url: str, timeout: float = 180) -> dict[str, Any]:
    """Poll an estimate as the train page does until it is over; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(url)
        assert answer.status_code == 200, answer.content
        if answer.json()["status"] not in ("queued", "running"):
            return answer.json()
        time.sleep(0.3)
    raise AssertionError(f"estimate {url} still {answer.json()['status']} after {timeout} s")


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_dry_run_measures_an_epoch_and_peak_memory_and_stores_nothing(
    alice: Any, alice_client: Any, bob: Any, celery_worker: Any, framework: str
) -> None:
    dataset = make_dataset(alice, "tabular", n=240)  # 144 training rows
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    body = {"architecture": architecture.pk, "dataset": dataset.pk, "framework": framework,
            "hyperparameters": hp(batch_size=16)}  # fmt: skip
    response = alice_client.post("/api/jobs/estimate/", body, content_type="application/json")
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["status"] in ("queued", "running") and queued["answer"] is None
    assert queued["url"].endswith(f"/api/jobs/estimates/{queued['id']}/")
    bob_client = Client()
    bob_client.force_login(bob)  # another user's estimate is a 404, while it runs and after
    assert bob_client.get(queued["url"]).status_code == 404
    polled = poll(alice_client, queued["url"])
    assert polled["status"] == "done" and polled["error"] == "", polled
    assert bob_client.get(queued["url"]).status_code == 404
    answer = polled["answer"]
    assert answer["framework"] == framework and answer["device"] == "CPU"
    assert answer["batch_size"] == 16 and answer["batches_per_epoch"] == 9  # ceil(144 / 16)
    assert answer["batches_measured"] == 5  # six steps, the first one a warm-up
    assert 0 < answer["seconds_per_batch"] < 5
    assert answer["seconds_per_epoch"] == pytest.approx(answer["seconds_per_batch"] * 9)
    assert answer["memory_measured_on"] == "cpu" and answer["peak_memory_bytes"] > 0, answer
    assert answer["total_params"] == 6 * 16 + 16 + 16 * 3 + 3 and answer["weights_bytes"] == answer["total_params"] * 4
    assert not TrainingJob.objects.exists()
    assert Estimate.objects.get().status == Estimate.Status.DONE
    assert not list(dataset.version_dir.parent.parent.glob("jobs/*"))


def test_an_estimate_refuses_what_a_job_would_refuse_with_the_same_messages(alice: Any, alice_client: Any) -> None:
    dataset = make_dataset(alice, "tabular")
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    body = {"architecture": architecture.pk, "dataset": dataset.pk, "framework": "torch",
            "hyperparameters": {"batch_size": 0}}  # fmt: skip
    estimate = alice_client.post("/api/jobs/estimate/", body, content_type="application/json")
    create = alice_client.post("/api/jobs/", body, content_type="application/json")
    assert estimate.status_code == create.status_code == 400
    assert estimate.json()["errors"] == create.json()["errors"]
    assert estimate.json()["errors"][0]["field"] == "hyperparameters.batch_size"
