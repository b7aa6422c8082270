"""Fair use of the trainers, with real workers and two users.

Estimates are work of a kind: a few per user are queued, the rest refused at once (429 with
Retry-After), none holds a web request, and one user's burst does not hold back another user's
job by more than one estimate. Jobs are shared fairly: one user's many queued jobs delay
another user's first job by at most one of theirs. An estimate nobody polls is cancelled.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from builder.models import Architecture
from tests.workers.helpers import SPECS, hp, make_dataset, wait_for, wait_status
from workers import recovery
from workers.hyperparameters import parse_hyperparameters
from workers.models import Estimate, TrainingJob
from workers.placement import training_queues

pytestmark = pytest.mark.django_db(transaction=True)
Status = TrainingJob.Status


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(owner: Any, framework: str = "torch", **overrides: Any) -> dict[str, Any]:
    dataset = make_dataset(owner, "tabular", n=120)
    architecture = Architecture.objects.create(owner=owner, name="mlp", spec=SPECS["tabular"])
    return {"architecture": architecture.pk, "dataset": dataset.pk, "framework": framework,
            "hyperparameters": hp(**overrides)}  # fmt: skip


def timed_post(client: Client, url: str, data: dict[str, Any]) -> tuple[int, dict[str, Any], str | None, float]:
    start = time.monotonic()
    try:
        response = client.post(url, data, content_type="application/json")
        return response.status_code, response.json(), response.get("Retry-After"), time.monotonic() - start
    finally:
        connection.close()  # each thread's own connection


def test_a_burst_of_estimates_is_refused_at_once_and_does_not_hold_back_another_users_job(
    settings: Any, alice: Any, bob: Any, celery_worker: Any
) -> None:
    estimate_body = body(alice)
    warm_up = signed_in(bob).post(
        "/api/jobs/estimate/", {**estimate_body, "dataset": 0}, content_type="application/json"
    )
    assert warm_up.status_code == 404  # the web side's first-use imports, outside the timed burst
    clients = [signed_in(alice) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda c: timed_post(c, "/api/jobs/estimate/", estimate_body), clients))
    accepted = [a for a in answers if a[0] == 202]
    refused = [a for a in answers if a[0] == 429]
    assert len(accepted) == settings.LAYERLOOM_MAX_ESTIMATES == 3 and len(refused) == 9, [a[:2] for a in answers]
    assert all(int(retry) >= 1 for _, _, retry, _ in refused), refused[0]
    assert "estimates queued or running (the limit is 3" in refused[0][1]["message"]
    seconds = sorted(round(a[3], 2) for a in answers)
    # Twelve at once in this one process share its interpreter: none waits for a dry run.
    assert seconds[-1] < 5, f"estimate requests took {seconds} s"
    one_more = timed_post(signed_in(alice), "/api/jobs/estimate/", estimate_body)
    # Refused at once: well under a dry run's length (20-25 s here), even beside CI's other pass.
    assert one_more[0] == 429 and one_more[3] < 5, one_more
    assert Estimate.objects.filter(owner=alice).count() == 3

    bob_client = signed_in(bob)
    bob_body = body(bob, epochs=1)
    submitted = time.monotonic()
    created = bob_client.post("/api/jobs/", bob_body, content_type="application/json")
    assert created.status_code == 201, created.content
    job = TrainingJob.objects.get(pk=created.json()["id"])
    urls = [a[1]["url"] for a in accepted]

    def bob_started() -> bool:
        for url in urls:  # alice keeps polling, as her train page would
            assert signed_in(alice).get(url).status_code == 200
        job.refresh_from_db()
        return job.started_at is not None

    wait_for(bob_started, timeout=240, interval=0.5, what="bob's job to start")
    waited = time.monotonic() - submitted
    runs = list(Estimate.objects.filter(owner=alice).order_by("pk"))
    first = runs[0]
    assert first.status == Estimate.Status.DONE and first.started_at and first.finished_at, first.error
    length = (first.finished_at - first.started_at).total_seconds()
    # Behind alice's first estimate only: her second went to the broker after bob's job.
    assert all(e.started_at is None or e.started_at > job.started_at for e in runs[1:]), runs
    assert waited < length + 15, f"bob waited {waited:.1f} s; one estimate took {length:.1f} s"
    print(
        f"\nbob's job started after {waited:.1f} s; one estimate {length:.1f} s; burst requests {seconds} s, "
        f"one refused alone {one_more[3]:.2f} s"
    )
    wait_status(job, Status.SUCCEEDED, worker=celery_worker)


def test_one_users_many_jobs_delay_another_users_first_job_by_at_most_one(
    settings: Any, alice: Any, bob: Any, trainer_without_export: Any
) -> None:
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 8
    alice_client = signed_in(alice)
    alice_body = body(alice, epochs=1)
    alice_jobs = []
    for _ in range(6):
        response = alice_client.post("/api/jobs/", alice_body, content_type="application/json")
        assert response.status_code == 201, response.content
        alice_jobs.append(response.json()["id"])
    # One of alice's in the broker at a time; the others wait their turn in the database.
    assert TrainingJob.objects.filter(owner=alice, dispatched_at__isnull=False).count() == 1
    response = signed_in(bob).post("/api/jobs/", body(bob, epochs=1), content_type="application/json")
    assert response.status_code == 201, response.content
    bob_job = wait_status(TrainingJob.objects.get(pk=response.json()["id"]), Status.SUCCEEDED,
                          worker=trainer_without_export)  # fmt: skip
    for pk in alice_jobs:  # each of alice's was sent when her previous one ended
        wait_status(TrainingJob.objects.get(pk=pk), Status.SUCCEEDED, worker=trainer_without_export)
    before_bob = TrainingJob.objects.filter(owner=alice, started_at__lt=bob_job.started_at).count()
    assert before_bob <= 1, f"{before_bob} of alice's jobs started before bob's"
    order = TrainingJob.objects.order_by("started_at").values_list("owner__username", flat=True)
    print(f"\norder of starts: {list(order)}")


def test_a_job_whose_turn_was_not_passed_on_is_sent_by_the_periodic_dispatch(
    settings: Any, alice: Any, trainer_without_export: Any
) -> None:
    """A process that died between ending alice's job and sending her next leaves it waiting:
    the beat task's dispatch sends it."""
    dataset = make_dataset(alice, "tabular", n=120)
    # As services would create it, but with the dispatch after commit lost.
    job = TrainingJob.objects.create(
        owner=alice, spec=SPECS["tabular"], dataset=dataset, dataset_version=dataset.version, framework="torch",
        hyperparameters=parse_hyperparameters(hp(epochs=1)).model_dump(), queue=settings.LAYERLOOM_TRAINING_QUEUE,
    )  # fmt: skip
    time.sleep(3)
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.dispatched_at is None  # nothing sent it
    done = recovery.dispatch_all()
    assert done["jobs_sent"] == [job.pk]
    wait_status(job, Status.SUCCEEDED, worker=trainer_without_export)
    assert recovery.dispatch_all()["jobs_sent"] == []


def test_an_estimate_nobody_polls_is_cancelled_and_its_dry_run_stopped(
    settings: Any, alice: Any, worker_factory: Any, private_queue: str
) -> None:
    worker = worker_factory(queues=training_queues(private_queue), extra_env={"LAYERLOOM_ESTIMATE_ABANDON_SECONDS": "4"})
    client = signed_in(alice)
    estimate_body = body(alice, framework="keras")  # the slower child to start: still running at 4 s
    first = client.post("/api/jobs/estimate/", estimate_body, content_type="application/json").json()
    second = client.post("/api/jobs/estimate/", estimate_body, content_type="application/json").json()

    def running() -> bool:
        return Estimate.objects.filter(pk=first["id"], status=Estimate.Status.RUNNING).exists()

    wait_for(running, timeout=60, interval=0.2, what="the first estimate to run")
    assert dry_run_children(worker), "the dry run's child should be running"
    # No more polls: the worker cancels the running one and kills its child.
    for made in (first, second):
        one = Estimate.objects.get(pk=made["id"])
        wait_for(lambda one=one: (one.refresh_from_db(), one.status == Estimate.Status.CANCELLED)[1], timeout=60,
                 what=f"estimate {one.pk} to be cancelled")  # fmt: skip
        assert "nobody polled this estimate for 4 seconds" in one.error
    assert Estimate.objects.get(pk=first["id"]).started_at is not None
    assert Estimate.objects.get(pk=second["id"]).started_at is None  # cancelled when its turn came
    wait_for(lambda: not dry_run_children(worker), timeout=10, what="the dry run's child to be gone")
    polled = client.get(first["url"]).json()
    assert polled["status"] == "cancelled" and polled["answer"] is None and "nobody polled" in polled["error"]


def test_a_dry_run_past_its_time_limit_is_killed_and_the_estimate_fails_saying_so(
    alice: Any, worker_factory: Any, private_queue: str
) -> None:
    worker = worker_factory(queues=training_queues(private_queue), extra_env={"LAYERLOOM_ESTIMATE_TIME_LIMIT": "2"})
    client = signed_in(alice)
    made = client.post("/api/jobs/estimate/", body(alice, framework="keras"), content_type="application/json").json()
    deadline = time.monotonic() + 60
    while (polled := client.get(made["url"]).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, polled
        time.sleep(0.3)
    assert polled["status"] == "failed" and polled["answer"] is None, polled
    assert polled["error"] == "The dry run took longer than 2 seconds; the model is very slow here."
    assert not dry_run_children(worker)


def test_a_queued_estimate_nobody_polls_is_cancelled_by_the_periodic_check(settings: Any, alice: Any) -> None:
    """No worker reads this queue: the estimate waits, and the safety net cancels it once nobody polls."""
    settings.LAYERLOOM_TRAINING_QUEUE = "training-nobody"
    settings.LAYERLOOM_ESTIMATE_ABANDON_SECONDS = 1
    client = signed_in(alice)
    made = client.post("/api/jobs/estimate/", body(alice), content_type="application/json").json()
    assert made["status"] == "queued"
    assert recovery.dispatch_all()["estimates_cancelled"] == []  # just polled: still wanted
    time.sleep(1.5)
    assert recovery.dispatch_all()["estimates_cancelled"] == [made["id"]]
    assert Estimate.objects.get(pk=made["id"]).status == Estimate.Status.CANCELLED


def dry_run_children(worker: Any) -> list[int]:
    """Pids of dry-run children under the worker's process group."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes()
            group = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, IndexError, ValueError):
            continue
        if group == worker.proc.pid and b"workers.training.dryrun" in command:
            found.append(int(proc.name))
    return found
