"""POST /api/jobs/estimate/: a real dry run of a few batches on a real worker, queued and polled,
nothing stored; another user's estimate is a 404."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from builder.models import Architecture
from builder.spec import validate_spec
from tests.api.conftest import make_job
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
            "hyperparameters": hp(batch_size=16, epochs=50, patience=3)}  # fmt: skip
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
    # The peak in its two parts: the framework's runtime (tens of megabytes at least, whatever the model) and
    # building and training this model; beside it the validator's count of the model's tensors, a few kilobytes.
    assert answer["peak_memory_bytes"] == answer["runtime_memory_bytes"] + answer["training_memory_bytes"]
    assert answer["runtime_memory_bytes"] > 20 * 2**20, answer
    assert answer["model_memory_bytes"] == validate_spec(SPECS["tabular"], batch_size=16).memory_estimate_bytes
    assert answer["data_memory_bytes"] == (144 + 48) * (6 * 4 + 8)  # float32 inputs, int64 classes
    # The whole job as a range: early stopping's end (no job on this dataset yet: patience + 1) to the budget.
    assert (answer["epochs_budget"], answer["patience"], answer["epochs_early_stop"]) == (50, 3, 4)
    assert answer["epochs_early_stop_basis"] == "patience" and answer["history_jobs"] == 0
    assert answer["seconds_early_stop"] == pytest.approx(answer["seconds_per_epoch"] * 4)
    assert answer["seconds_budget"] == pytest.approx(answer["seconds_per_epoch"] * 50)
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


@pytest.mark.django_db
def test_the_likely_end_of_the_range_is_read_from_the_owners_finished_jobs_on_the_dataset(
    alice: Any, alice_client: Any, bob: Any
) -> None:
    dataset, other = make_dataset(alice, "tabular"), make_dataset(alice, "tabular", seed=1)
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    stopped = {"epochs": 200, "patience": 10}
    for epoch, status, settings, on, owner in (
        (31, "succeeded", stopped, dataset, alice), (45, "succeeded", stopped, dataset, alice),
        (38, "succeeded", {"epochs": 40}, dataset, alice),  # stored before patience was a key: the default, 15
        (7, "succeeded", {"epochs": 7, "patience": None}, dataset, alice),  # no early stopping: not read
        (3, "failed", stopped, dataset, alice), (90, "succeeded", stopped, other, alice),
        (120, "succeeded", stopped, make_dataset(bob, "tabular"), bob),
    ):  # fmt: skip
        job = make_job(owner, on, status=status, epoch=epoch)
        TrainingJob.objects.filter(pk=job.pk).update(hyperparameters=settings)

    def plan(**settings: Any) -> dict[str, Any]:
        Estimate.objects.all().delete()
        body = {"architecture": architecture.pk, "dataset": dataset.pk, "framework": "torch",
                "hyperparameters": hp(**settings)}  # fmt: skip
        response = alice_client.post("/api/jobs/estimate/", body, content_type="application/json")
        assert response.status_code == 202, response.content
        return Estimate.objects.get().sizes  # the plan is taken when the estimate is asked for

    likely = plan(epochs=100, patience=5)
    assert likely["epochs_early_stop"] == 38  # the median of 31, 45 and 38
    assert likely["epochs_early_stop_basis"] == "history" and likely["history_jobs"] == 3
    assert plan(epochs=30, patience=5)["epochs_early_stop"] == 30  # never past the budget
    assert plan(epochs=100, patience=50)["epochs_early_stop"] == 51  # nor before early stopping can end it
    off = plan(epochs=100, patience=None)
    assert (off["epochs_early_stop"], off["epochs_early_stop_basis"]) == (100, "budget")
