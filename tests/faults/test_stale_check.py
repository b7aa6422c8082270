"""The periodic stale-job check: resume, give up with the reason, or leave a live job alone."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tests.workers.helpers import SPECS, make_dataset
from workers.lifecycle import claim
from workers.models import TrainingJob
from workers.recovery import reap_stale_jobs
from workers.services import JobStateError, requeue_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick(settings):
    settings.LAYERLOOM_HEARTBEAT_TIMEOUT = 3
    settings.LAYERLOOM_JOB_MAX_ATTEMPTS = 3
    with (
        mock.patch("workers.lifecycle.enqueue") as enqueue,
        mock.patch("workers.recovery.live_workers", return_value=set()),
    ):
        yield enqueue


def running_job(owner, age: float, **fields) -> TrainingJob:
    beat = timezone.now() - timedelta(seconds=age)
    values = dict(status=TrainingJob.Status.RUNNING, heartbeat_at=beat, started_at=beat, attempts=1,
                  worker_host="gone@nowhere", run_token="old")  # fmt: skip
    values.update(fields)
    return TrainingJob.objects.create(
        owner=owner, spec=SPECS["tabular"], dataset=make_dataset(owner), dataset_version=1, framework="torch",
        hyperparameters={}, **values,
    )  # fmt: skip


def test_stale_job_is_requeued_and_a_fresh_one_left_alone(alice, quick, django_capture_on_commit_callbacks):
    stale, fresh = running_job(alice, 30), running_job(alice, 0.5)
    with django_capture_on_commit_callbacks(execute=True):
        assert reap_stale_jobs() == {"requeued": [stale.pk], "failed": []}
    quick.assert_called_once_with(stale.pk)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "queued" and stale.run_token == "" and fresh.status == "running"


def test_a_job_that_keeps_crashing_is_failed_with_the_reason(alice):
    job = running_job(alice, 30, attempts=3)
    assert reap_stale_jobs()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and "stopped responding 3 times" in job.error and job.finished_at


def test_past_the_time_limit_it_fails_with_time_limit(alice, settings):
    settings.LAYERLOOM_JOB_TIME_LIMIT = 10
    job = running_job(alice, 30)
    reap_stale_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "time limit" in job.error


def test_a_job_whose_worker_answers_is_not_touched(alice):
    running_job(alice, 30)
    with mock.patch("workers.recovery.live_workers", return_value={"gone@nowhere"}):
        assert reap_stale_jobs() == {"requeued": [], "failed": []}


def test_redelivery_to_a_live_run_is_a_no_op_and_to_a_crashed_run_takes_over(alice):
    live = running_job(alice, 0.5)
    assert claim(live.pk, "other@host") is None
    crashed = running_job(alice, 30)
    token = claim(crashed.pk, "other@host")
    crashed.refresh_from_db()
    assert token and crashed.run_token == token and crashed.attempts == 2 and crashed.worker_host == "other@host"


def test_requeue_refuses_a_live_job_unless_forced_and_fences_the_old_run(alice):
    live = running_job(alice, 0.5)
    with pytest.raises(JobStateError):
        requeue_job(live)
    job = requeue_job(live, force=True)
    assert job.status == "queued" and job.run_token == ""
    # The old run's writes now match nothing.
    assert not TrainingJob.objects.filter(pk=job.pk, run_token="old").update(epoch=5)
