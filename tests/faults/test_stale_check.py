"""The periodic check for dead runs: resume, give up with the reason, or leave a live run alone."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tests.workers.helpers import SPECS, make_dataset
from workers import liveness
from workers.lifecycle import claim
from workers.models import TrainingJob
from workers.recovery import reap_stale_jobs
from workers.services import JobStateError, cancel_job, requeue_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick(settings):
    settings.LAYERLOOM_HEARTBEAT_TIMEOUT = 3
    settings.LAYERLOOM_JOB_MAX_ATTEMPTS = 3
    with mock.patch("workers.lifecycle.enqueue") as enqueue:
        yield enqueue


def dead_owner() -> str:
    """The identity of a process on this machine that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    owner = liveness.identity(child.pid)
    child.kill()
    child.wait()
    assert owner and liveness.is_alive(owner) is False
    return owner


def running_job(owner, age: float, **fields) -> TrainingJob:
    beat = timezone.now() - timedelta(seconds=age)
    values = dict(status=TrainingJob.Status.RUNNING, heartbeat_at=beat, started_at=beat, attempts=1,
                  worker_host="gone@nowhere", worker_pid=4321, run_token="old")  # fmt: skip
    values.update(fields)
    return TrainingJob.objects.create(
        owner=owner, spec=SPECS["tabular"], dataset=make_dataset(owner), dataset_version=1, framework="torch",
        hyperparameters={}, **values,
    )  # fmt: skip


def test_an_expired_lease_is_requeued_and_a_fresh_one_left_alone(alice, quick, django_capture_on_commit_callbacks):
    stale, fresh = running_job(alice, 30), running_job(alice, 0.5)
    with django_capture_on_commit_callbacks(execute=True):
        assert reap_stale_jobs() == {"requeued": [stale.pk], "failed": [], "cancelled": []}
    quick.assert_called_once_with(stale.pk)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "queued" and stale.run_token == "" and fresh.status == "running"
    assert stale.interruption.startswith("Attempt 1 stopped: its worker process (pid 4321 on gone@nowhere) stopped")
    assert stale.interruption.endswith("Resumed from its last checkpoint.")


def test_a_dead_owner_on_this_machine_is_recovered_at_once_despite_a_fresh_heartbeat(alice):
    dead = running_job(alice, 0.1, run_owner=dead_owner())
    alive = running_job(alice, 0.1, run_owner=liveness.identity())  # this test process: alive
    assert reap_stale_jobs()["requeued"] == [dead.pk]
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == "queued" and "ended while the job ran" in dead.interruption
    assert alive.status == "running"


def test_a_restarted_worker_with_the_same_node_name_does_not_keep_a_dead_run_alive(alice):
    # The node name is the same as the live worker's; only the process identity counts.
    job = running_job(alice, 0.1, worker_host="training@here", run_owner=dead_owner())
    assert reap_stale_jobs()["requeued"] == [job.pk]


def test_a_job_that_keeps_crashing_is_failed_with_the_reason(alice):
    job = running_job(alice, 30, attempts=3)
    assert reap_stale_jobs()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and "attempt 3 of 3; giving up" in job.error and job.finished_at
    assert job.run_token == ""


def test_past_the_time_limit_it_fails_with_time_limit(alice, settings):
    settings.LAYERLOOM_JOB_TIME_LIMIT = 10
    job = running_job(alice, 30)
    reap_stale_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "time limit of 10 seconds" in job.error


def test_redelivery_to_a_live_run_is_a_no_op_and_to_a_dead_run_takes_over(alice):
    live = running_job(alice, 0.5, run_owner=liveness.identity())
    assert claim(live.pk, "other@host") is None
    for crashed in (running_job(alice, 30), running_job(alice, 0.1, run_owner=dead_owner())):
        token = claim(crashed.pk, "other@host")
        crashed.refresh_from_db()
        assert token and crashed.run_token == token and crashed.attempts == 2 and crashed.worker_host == "other@host"
        assert crashed.run_owner == liveness.identity() and crashed.interruption.startswith("Attempt 1 stopped")


def test_redelivery_of_a_dead_run_with_no_attempts_left_fails_it(alice):
    job = running_job(alice, 0.1, attempts=3, run_owner=dead_owner())
    assert claim(job.pk, "other@host") is None
    job.refresh_from_db()
    assert job.status == "failed" and "giving up" in job.error


def test_requeue_refuses_a_live_job_unless_forced_and_fences_the_old_run(alice):
    live = running_job(alice, 0.5, run_owner=liveness.identity())
    with pytest.raises(JobStateError):
        requeue_job(live)
    job = requeue_job(live, force=True)
    assert job.status == "queued" and job.run_token == ""
    # The old run's writes now match nothing.
    assert not TrainingJob.objects.filter(pk=job.pk, run_token="old").update(epoch=5)


def test_cancel_of_a_stuck_job_ends_it_and_frees_the_quota(alice, settings):
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 1
    job = running_job(alice, 0.1, run_owner=dead_owner())
    job = cancel_job(job)
    assert job.status == "cancelled" and job.finished_at and job.error.startswith("Cancelled. Attempt 1 stopped")
    assert not TrainingJob.objects.filter(owner=alice, status__in=TrainingJob.ACTIVE).exists()


def test_cancel_of_a_live_run_only_asks_it_to_stop(alice):
    job = cancel_job(running_job(alice, 0.1, run_owner=liveness.identity()))
    assert job.status == "running" and job.cancel_requested


def test_requeue_of_a_job_cancelled_while_stuck_clears_the_flag(alice, quick, django_capture_on_commit_callbacks):
    job = cancel_job(running_job(alice, 30))
    assert job.status == "cancelled"
    with django_capture_on_commit_callbacks(execute=True):
        job = requeue_job(job)
    assert job.status == "queued" and not job.cancel_requested and job.finished_at is None and job.error == ""
    quick.assert_called_once_with(job.pk)
    assert claim(job.pk, "w@h")  # a worker now takes it


def test_requeue_refuses_a_failed_job(alice):
    job = running_job(alice, 30, attempts=3)
    reap_stale_jobs()
    job.refresh_from_db()
    with pytest.raises(JobStateError, match="use retry"):
        requeue_job(job)
