"""A job's device picks its training queue; every worker says, through Celery's remote control,
which queues it reads and what it has; the admin shows the live trainers and the queues no one
reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.workers.helpers import SPECS, hp, make_dataset, wait_for, wait_status
from workers import lifecycle, placement
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_device_picks_the_queue(settings: Any) -> None:
    settings.LAYERLOOM_TRAINING_QUEUE = "training"
    assert [placement.queue_for(d) for d in ("auto", "cpu", "cuda")] == ["training", "training-cpu", "training-gpu"]
    assert placement.training_queues() == "training,training-cpu,training-gpu"  # what the Procfile's trainer reads


def test_a_cpu_trainer_takes_cpu_and_auto_jobs_and_a_cuda_job_waits_for_a_gpu_trainer(
    alice: Any, bob: Any, admin_user: Any, worker_factory: Any, private_queue: str
) -> None:
    worker = worker_factory(queues=f"{private_queue},{private_queue}-cpu", concurrency=1)
    dataset = make_dataset(alice, "tabular", n=60)
    jobs = {device: submit_job(alice, spec=SPECS["tabular"], dataset=dataset, framework="torch",
                               hyperparameters=hp(epochs=1, device=device)) for device in ("cpu", "auto")}  # fmt: skip
    waiting = submit_job(bob, spec=SPECS["tabular"], dataset=make_dataset(bob, "tabular", n=60), framework="torch",
                         hyperparameters=hp(epochs=1, device="cuda"))  # fmt: skip
    assert {d: j.queue for d, j in jobs.items()} == {"cpu": f"{private_queue}-cpu", "auto": private_queue}
    for job in jobs.values():
        job = wait_status(job, *TrainingJob.FINISHED, timeout=120, worker=worker)
        assert job.status == TrainingJob.Status.SUCCEEDED, job.error
        assert job.device_name == "CPU"
    waiting.refresh_from_db()
    assert waiting.status == TrainingJob.Status.QUEUED and waiting.queue == f"{private_queue}-gpu"
    assert lifecycle.queue_depth(waiting.queue) == 1  # sent, and no worker reads it

    node = worker.name.split("@")[0]  # the name's host part is filled in by the worker
    answered = wait_for(lambda: [w for w in placement.live_workers(timeout=2.0) if w["name"].startswith(node)], 30,
                        what="the worker to answer the remote control")  # fmt: skip
    about = answered[0]
    assert about["queues"] == [private_queue, f"{private_queue}-cpu"]
    assert about["device"] == "CPU" and about["gpus"] == [] and about["cpu_cores"] >= 1 and about["memory_bytes"] > 0
    assert {"tensorflow", "torch"} <= set(about["frameworks"]) and about["version"]

    admin = Client()
    admin.force_login(admin_user)
    page = admin.get("/admin/workers/trainingjob/trainers/").content.decode()
    assert about["name"] in page and f"{private_queue}-cpu" in page
    row = page[page.index(f"<code>{private_queue}-gpu</code>"):].split("</tr>")[0]
    assert "no live worker reads it" in row and "<td>1</td>" in row
    assert 'href="/admin/workers/trainingjob/trainers/"' in admin.get("/admin/workers/trainingjob/").content.decode()
