"""Admin actions on jobs a real worker is running: cancel stops training, retry queues a new run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workers.helpers import hp, make_dataset, wait_for, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/workers/trainingjob/"


def act(admin_client: Any, action: str, job: TrainingJob) -> Any:
    return admin_client.post(CHANGELIST, {"action": action, "_selected_action": [job.pk]}, follow=True)


def test_cancel_then_retry_a_running_job_from_the_admin(admin_client: Any, trainer_without_export: Any, alice: Any) -> None:
    dataset = make_dataset(alice, "tabular", n=120)
    spec = {"format": 1, "name": "long", "input": {"shape": dataset.input_shape},
            "layers": [{"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]}  # fmt: skip
    job = submit_job(alice, spec=spec, dataset=dataset, framework="torch", hyperparameters=hp(epochs=5000))
    wait_for(lambda: TrainingJob.objects.filter(pk=job.pk, status="running", epoch__gte=1).exists(), 120,
             what="the worker to finish an epoch")  # fmt: skip

    page = admin_client.get(f"{CHANGELIST}?status__exact=running").content.decode()
    assert f"/trainingjob/{job.pk}/change/" in page and "CPU" in page

    act(admin_client, "cancel_jobs", job)
    job = wait_status(job, *TrainingJob.FINISHED, timeout=60, worker=trainer_without_export)
    assert job.status == "cancelled" and 1 <= job.epoch < 5000
    change = admin_client.get(f"/admin/workers/trainingjob/{job.pk}/change/").content.decode()
    assert "val_loss" in change  # the finished epochs' metrics, inline

    response = act(admin_client, "retry_jobs", job)
    retry = TrainingJob.objects.get(retry_of=job)
    assert f"Retried job(s) {job.pk}." in response.content.decode()
    # Stop the retry too, so the shared worker is free for the next test.
    act(admin_client, "cancel_jobs", retry)
    retry = wait_status(retry, *TrainingJob.FINISHED, timeout=60, worker=trainer_without_export)
    assert retry.status == "cancelled"
