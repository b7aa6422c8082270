"""The job state machine: every change of a training job's status, in one place.

    queued --claim--> running --finish--> succeeded | failed | cancelled | pruned (a sweep's trial)
    queued --cancel--> cancelled
    running --recover--> queued | failed | cancelled   (the run's process died or was killed:
                                                        resume while attempts remain)
    running | cancelled --requeue--> queued        (an operator; clears the cancel flag)

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
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import KombuError

from webapp.celery import app
from workers import liveness
from workers.models import TrainingJob

log = logging.getLogger(__name__)
Status = TrainingJob.Status


class JobStateError(Exception):
    """The action does not apply to the job in its current state (the API returns a 409)."""


class QueueUnavailable(Exception):
    """The broker could not take the job's message; the job has failed saying so (the API returns a 503)."""


def enqueue(job_id: int) -> None:
    """Send the job's id to its queue now (tasks re-read the row; a duplicate message is harmless).

    Sent by task name, so this module (and services) never import the task module. When the
    broker cannot take the message (after Celery's own publish retries), a job still queued
    fails with a message that says so: no message means no worker would ever start it.
    Recovery and an operator's requeue send this way, past the owner's turn: the job had its turn.
    """
    try:
        _send(job_id)
    except QueueUnavailable as exc:
        _not_queued(job_id, str(exc))
        raise


def _send(job_id: int) -> None:
    """Mark the job as in the broker and send its message (QueueUnavailable when the broker refuses)."""
    queue = TrainingJob.objects.filter(pk=job_id).values_list("queue", flat=True).first() or "training"
    # Only a job still waiting is marked: a duplicate message for one taken or over changes nothing.
    TrainingJob.objects.filter(pk=job_id, status=Status.QUEUED).update(dispatched_at=timezone.now())
    try:
        app.send_task("workers.train_job", args=[job_id], queue=queue)
    except (KombuError, OSError) as exc:  # connection refused, a missing queue folder, a broker error
        raise QueueUnavailable(f"The job could not be queued: the broker did not take it ({type(exc).__name__}: "
                               f"{str(exc)[:200]}). Nothing ran; retry the job once the broker is back "
                               "(GET /healthz).") from exc  # fmt: skip


def _not_queued(job_id: int, message: str) -> None:
    log.error("job %s: %s", job_id, message)
    TrainingJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def dispatch(owner_id: int) -> list[int]:
    """Send the owner's oldest waiting jobs while fewer than LAYERLOOM_DISPATCH_PER_USER are out.

    The fair share: the broker's queue is first come first served, so each user has at most
    that many jobs in it and the rest wait here; another user's first job is then behind at
    most that many of this user's. Called after a job is created and after one ends (both on
    commit), and by the periodic safety net; it may run twice at once for one owner: the
    owner's row is locked while counting, and the mark and the message go in one transaction
    (a message without the mark is sent again later, which is harmless; a mark without a
    message cannot be committed). Returns the ids sent.
    """
    sent: list[int] = []
    while True:
        try:
            with transaction.atomic():
                get_user_model().objects.select_for_update().filter(pk=owner_id).first()
                mine = TrainingJob.objects.filter(owner_id=owner_id, status__in=TrainingJob.ACTIVE)
                if mine.filter(dispatched_at__isnull=False).count() >= settings.LAYERLOOM_DISPATCH_PER_USER:
                    return sent
                waiting = mine.filter(status=Status.QUEUED, dispatched_at__isnull=True)
                job_id = waiting.order_by("created", "pk").values_list("pk", flat=True).first()
                if job_id is None:
                    return sent
                _send(job_id)
        except QueueUnavailable as exc:
            _not_queued(job_id, str(exc))
            raise
        sent.append(job_id)


def dispatch_after(owner_id: int) -> None:
    """After a job of the owner's ended: pass the turn on, never failing the caller (the periodic
    safety net sends it if this cannot)."""
    try:
        dispatch(owner_id)
    except Exception:  # noqa: BLE001 - a broker or database hiccup here must not undo the ending
        log.exception("user %s: the next queued job was not sent; the periodic dispatch will", owner_id)


def queue_depth(queue: str) -> int | None:
    """Messages waiting in the broker's queue; None when the broker cannot say (it is down)."""
    try:
        with app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue=queue).message_count
    except (KombuError, OSError) as exc:
        log.warning("queue %s: its depth could not be read (%s)", queue, exc)
        return None


def resend_lost() -> list[int]:
    """Periodic: send again the jobs whose message the broker lost (a Redis restarted without
    persistence, a purged queue), which would otherwise hold their owner's turn for ever.

    A job marked sent more than LAYERLOOM_RESEND_LOST_AFTER seconds ago and still queued is
    lost only when its queue is empty: with acks_late and a prefetch of one, a message not in
    the queue is being run, and a run claims its job within seconds. While the queue holds
    messages nothing is sent (the job's may be among them); it drains, and then this can tell.
    A duplicate (a message taken in the very moment of the check) is harmless: a task for a job
    that is taken or over does nothing.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.LAYERLOOM_RESEND_LOST_AFTER)
    stuck = TrainingJob.objects.filter(status=Status.QUEUED, dispatched_at__lt=cutoff)
    sent: list[int] = []
    for queue in sorted(set(stuck.values_list("queue", flat=True))):
        if queue_depth(queue or "training") != 0:
            continue
        for job_id in stuck.filter(queue=queue).order_by("pk").values_list("pk", flat=True):
            log.warning("job %s: its message is not in the empty queue %s; sending it again", job_id, queue)
            try:
                _send(job_id)
            except QueueUnavailable:
                return sent  # the broker went away again; the next round tries
            sent.append(job_id)
    return sent


def dispatch_waiting() -> list[int]:
    """Periodic: send every owner's turn that was not passed on (a crash between ending a job and
    sending the next, a broker that was down)."""
    owners = (TrainingJob.objects.filter(status=Status.QUEUED, dispatched_at__isnull=True)
              .values_list("owner_id", flat=True).distinct())  # fmt: skip
    sent: list[int] = []
    for owner_id in sorted(set(owners)):
        try:
            sent += dispatch(owner_id)
        except QueueUnavailable:
            continue  # that job failed saying so; the others of other owners still go
    return sent


def _owner_of(job_id: int) -> int | None:
    return TrainingJob.objects.filter(pk=job_id).values_list("owner_id", flat=True).first()


def _after_end(job_id: int) -> None:
    """A job ended (committed or about to be): its owner's next job goes once that is committed."""
    owner_id = _owner_of(job_id)
    if owner_id is not None:
        transaction.on_commit(lambda: dispatch_after(owner_id))
    if TrainingJob.objects.filter(pk=job_id, sweep_trial__isnull=False).exists():
        from sweeps.services import job_ended  # a sweep's trial: its sweep takes its next step

        transaction.on_commit(lambda: job_ended(job_id))


def heartbeat_is_stale(job: TrainingJob) -> bool:
    if job.heartbeat_at is None:
        return True
    age = (timezone.now() - job.heartbeat_at).total_seconds()
    return age > settings.LAYERLOOM_HEARTBEAT_TIMEOUT


def run_is_dead(job: TrainingJob) -> bool:
    """The run's owner is gone for certain (same machine), or its lease (the heartbeat) expired."""
    return liveness.is_alive(job.run_owner) is False or heartbeat_is_stale(job)


# --- a run's own transitions (the supervisor and the job's process) -------------------------
# What a run that is over leaves: clearing run_token fences the old run out (any write it
# still makes matches nothing).
FENCED: dict[str, Any] = dict(run_token="", run_owner="", heartbeat_at=None, worker_pid=None, eta_seconds=None)

def claim(job_id: int, node: str) -> str | None:
    """Take the job: queued -> running, or take over a run whose process is dead. Returns the run token.

    None means the message must be ignored: the job is done, cancelled, or owned by a run
    that is still alive.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = dict(
        status=Status.RUNNING, run_token=token, attempts=F("attempts") + 1, heartbeat_at=now, worker_host=node,
        worker_pid=os.getpid(), run_owner=liveness.identity(), started_at=Coalesce(F("started_at"), now), error="",
    )  # fmt: skip
    if TrainingJob.objects.filter(pk=job_id, status=Status.QUEUED, cancel_requested=False).update(**taken):
        return token
    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None or job.status != Status.RUNNING or not run_is_dead(job):
        log.info("job %s: message ignored (%s)", job_id, job.status if job else "no such job")
        return None
    # A redelivery after the owning process died: take the job over (it resumes from its
    # checkpoint) unless it is to end instead, and only if nobody else did meanwhile.
    what = dead_run_description(job)
    status, message = dead_run_outcome(job, what)
    if status != Status.QUEUED:
        recover(job, what)
        return None
    same = TrainingJob.objects.filter(pk=job_id, status=Status.RUNNING, run_token=job.run_token)
    return token if same.update(interruption=message, **taken) else None


def update_run(job_id: int, token: str, **fields: Any) -> bool:
    """A write by the run that owns the job (progress, heartbeat, evaluation); a no-op for any other."""
    return bool(TrainingJob.objects.filter(pk=job_id, run_token=token, status=Status.RUNNING).update(**fields))


def finish(job_id: int, token: str, status: str, error: str = "") -> bool:
    """running -> succeeded | failed | cancelled, written only by the run that owns the job."""
    extra = {"percent": 100.0} if status == Status.SUCCEEDED else {}
    done = update_run(job_id, token, status=status, error=error, finished_at=timezone.now(), eta_seconds=None, **extra)
    if done:
        _after_end(job_id)
    return done


def interrupted(job_id: int, token: str, what: str) -> str | None:
    """The run's training process was stopped from outside: resume, or end the job, as recover() decides."""
    job = TrainingJob.objects.filter(pk=job_id, run_token=token, status=Status.RUNNING).first()
    return recover(job, what) if job is not None else None


def hand_over(job_id: int, token: str, what: str) -> str | None:
    """The run's trainer is shutting down: running -> queued for the next free trainer, not counted as an attempt.

    The job resumes from its last checkpoint; a job asked to cancel ends instead.
    """
    job = TrainingJob.objects.filter(pk=job_id, run_token=token, status=Status.RUNNING).first()
    if job is None:
        return None
    if job.cancel_requested:
        return recover(job, what)
    with transaction.atomic():
        done = TrainingJob.objects.filter(pk=job_id, run_token=token, status=Status.RUNNING).update(
            status=Status.QUEUED, interruption=what, attempts=F("attempts") - 1, **FENCED
        )
        if done:
            transaction.on_commit(lambda: enqueue(job_id))
    return Status.QUEUED if done else None


# --- a run whose process is gone ----------------------------------------------------------
def dead_run_description(job: TrainingJob) -> str:
    """What happened to a run found dead, for the job's `interruption` (and its error if it ends)."""
    where = f"pid {job.worker_pid} on {job.worker_host or 'an unknown worker'}"
    if liveness.is_alive(job.run_owner) is False:
        return f"Attempt {job.attempts} stopped: its worker process ({where}) ended while the job ran."
    beat = f"{job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC" if job.heartbeat_at else "never"
    return f"Attempt {job.attempts} stopped: its worker process ({where}) stopped sending heartbeats (last: {beat})."


def dead_run_outcome(job: TrainingJob, what: str) -> tuple[str, str]:
    """(next status, message) for a run that is over without a result: resume while it may."""
    if job.cancel_requested:
        return Status.CANCELLED, f"Cancelled. {what}"
    limit = settings.LAYERLOOM_JOB_TIME_LIMIT
    if job.started_at and (timezone.now() - job.started_at).total_seconds() > limit:
        return Status.FAILED, f"Stopped: the job reached its time limit of {limit} seconds. {what}"
    if job.attempts >= settings.LAYERLOOM_JOB_MAX_ATTEMPTS:
        return Status.FAILED, f"{what} That was attempt {job.attempts} of {job.attempts}; giving up."
    return Status.QUEUED, f"{what} Resumed from its last checkpoint."


def recover(job: TrainingJob, what: str) -> str | None:
    """running -> queued (resume) | failed | cancelled for a run that is over; the new status, or None if raced."""
    status, message = dead_run_outcome(job, what)
    owned = TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=job.run_token)
    if status != Status.QUEUED:
        done = owned.update(status=status, error=message, finished_at=timezone.now(), **FENCED)
        if done:
            _after_end(job.pk)
        return status if done else None
    with transaction.atomic():
        done = owned.update(status=Status.QUEUED, interruption=message, **FENCED)
        if done:
            transaction.on_commit(lambda: enqueue(job.pk))
    return status if done else None


# --- actions on a job (services, the admin) ------------------------------------------------
def cancel(job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once; a running one is asked to stop, and one whose run is dead ends now."""
    took = TrainingJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=timezone.now(), error="Cancelled before it started."
    )
    if took:
        _after_end(job.pk)  # a job that was out in the broker frees its owner's turn
    else:
        running = TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True)
        if not running:
            job.refresh_from_db()
            raise JobStateError(f"Job {job.pk} has already finished ({job.status}); there is nothing to cancel.")
        job.refresh_from_db()
        if job.status == Status.RUNNING and run_is_dead(job):
            recover(job, dead_run_description(job))  # nobody would act on the flag: end it here
    job.refresh_from_db()
    return job


def requeue(job: TrainingJob, *, force: bool = False) -> TrainingJob:
    """Put a stuck or cancelled job back in the queue (an operator action); it resumes from its checkpoint.

    The cancel flag is cleared, so the job really runs again. A running job whose process
    is alive is refused unless force=True.
    """
    if job.status not in (*TrainingJob.ACTIVE, Status.CANCELLED):
        raise JobStateError(f"Job {job.pk} has {job.status}; use retry instead (a new job).")
    if job.status == Status.RUNNING and not force and not run_is_dead(job):
        raise JobStateError(f"Job {job.pk} is running and its worker is alive (heartbeat {job.heartbeat_at}).")
    with transaction.atomic():
        updated = TrainingJob.objects.filter(pk=job.pk, status=job.status).update(
            # Clearing run_token fences the old run out: its writes are filtered on its token.
            status=Status.QUEUED, cancel_requested=False, finished_at=None, error="", heartbeat_at=None,
            worker_host="", worker_pid=None, run_token="", run_owner="",
        )  # fmt: skip
        if updated:
            transaction.on_commit(lambda: enqueue(job.pk))
    job.refresh_from_db()
    return job
