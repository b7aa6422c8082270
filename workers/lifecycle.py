"""The job state machine: every change of a training job's status, in one place.

    queued --claim--> running --finish--> succeeded | failed | cancelled
    queued --cancel--> cancelled
    running --requeue / recover--> queued          (an operator, or the run's process died)
    running --recover--> failed | cancelled        (no attempts left, time limit, cancel asked)

Services (API, admin, the `train` command), the supervisor in the Celery task, the recovery
check and the runner in the job's own process call these functions; nothing else writes a
job's `status`. Every transition that can race is one conditional UPDATE on the state it
expects, and a run's own writes are filtered on its run token, so a run that lost the job
(requeued, taken over) changes nothing.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from workers.models import TrainingJob

log = logging.getLogger(__name__)
Status = TrainingJob.Status


class JobStateError(Exception):
    """The action does not apply to the job in its current state (the API returns a 409)."""


def enqueue(job_id: int) -> None:
    """Send the job's id to its queue (tasks re-read the row; a duplicate message is harmless).

    Sent by task name, so this module (and services) never import the task module.
    """
    from webapp.celery import app

    queue = TrainingJob.objects.filter(pk=job_id).values_list("queue", flat=True).first() or "training"
    app.send_task("workers.train_job", args=[job_id], queue=queue)


def heartbeat_is_stale(job: TrainingJob) -> bool:
    if job.heartbeat_at is None:
        return True
    age = (timezone.now() - job.heartbeat_at).total_seconds()
    return age > settings.LAYERLOOM_HEARTBEAT_TIMEOUT


# --- a run's own transitions (the supervisor and the job's process) -------------------------
def claim(job_id: int, node: str) -> str | None:
    """Take the job: queued -> running, or take over a crashed run. Returns the new run token.

    None means the message must be ignored: the job is done, cancelled, or owned by a run
    that is still alive.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = dict(
        status=Status.RUNNING, run_token=token, attempts=F("attempts") + 1, heartbeat_at=now,
        worker_host=node, worker_pid=os.getpid(), started_at=Coalesce(F("started_at"), now), error="",
    )  # fmt: skip
    if TrainingJob.objects.filter(pk=job_id, status=Status.QUEUED, cancel_requested=False).update(**taken):
        return token
    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None or job.status != Status.RUNNING or not heartbeat_is_stale(job):
        log.info("job %s: message ignored (%s)", job_id, job.status if job else "no such job")
        return None
    if job.attempts >= settings.LAYERLOOM_JOB_MAX_ATTEMPTS:
        finish(job_id, job.run_token, Status.FAILED, f"The job's worker stopped {job.attempts} times; giving up.")
        return None
    # A redelivery after the worker crashed: take it over only if nobody else did meanwhile.
    same = TrainingJob.objects.filter(pk=job_id, status=Status.RUNNING, run_token=job.run_token)
    return token if same.update(**taken) else None


def update_run(job_id: int, token: str, **fields: Any) -> bool:
    """A write by the run that owns the job (progress, heartbeat, evaluation); a no-op for any other."""
    return bool(TrainingJob.objects.filter(pk=job_id, run_token=token, status=Status.RUNNING).update(**fields))


def finish(job_id: int, token: str, status: str, error: str = "") -> bool:
    """running -> succeeded | failed | cancelled, written only by the run that owns the job."""
    extra = {"percent": 100.0} if status == Status.SUCCEEDED else {}
    return update_run(job_id, token, status=status, error=error, finished_at=timezone.now(), eta_seconds=None, **extra)


# --- actions on a job (services, the admin, recovery) ------------------------------------
def cancel(job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once and never starts; a running one is asked to stop."""
    took = TrainingJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=timezone.now(), error="Cancelled before it started."
    )
    if not took:
        running = TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True)
        if not running:
            job.refresh_from_db()
            raise JobStateError(f"Job {job.pk} has already finished ({job.status}); there is nothing to cancel.")
    job.refresh_from_db()
    return job


def requeue(job: TrainingJob, *, force: bool = False) -> TrainingJob:
    """Put a stuck job back in the queue (an operator action); it resumes from its checkpoint."""
    if job.status not in TrainingJob.ACTIVE:
        raise JobStateError(f"Job {job.pk} has finished ({job.status}); use retry instead.")
    if job.status == Status.RUNNING and not force and not heartbeat_is_stale(job):
        raise JobStateError(f"Job {job.pk} is running and its worker is alive (heartbeat {job.heartbeat_at}).")
    with transaction.atomic():
        updated = TrainingJob.objects.filter(pk=job.pk, status__in=TrainingJob.ACTIVE).update(
            # Clearing run_token fences the old run out: its writes are filtered on its token.
            status=Status.QUEUED, heartbeat_at=None, worker_host="", worker_pid=None, run_token="",
        )  # fmt: skip
        if updated:
            transaction.on_commit(lambda: enqueue(job.pk))
    job.refresh_from_db()
    return job


def requeue_dead_run(job: TrainingJob) -> bool:
    """running -> queued for a run whose process is gone; it resumes from its checkpoint."""
    with transaction.atomic():
        took = TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=job.run_token).update(
            status=Status.QUEUED, run_token="", heartbeat_at=None, worker_pid=None
        )
        if took:
            transaction.on_commit(lambda: enqueue(job.pk))
    return bool(took)


def fail_dead_run(job: TrainingJob, reason: str) -> bool:
    """running -> failed for a run whose process is gone and that will not be resumed."""
    return bool(
        TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=job.run_token).update(
            status=Status.FAILED, error=reason, finished_at=timezone.now(), run_token=""
        )
    )
