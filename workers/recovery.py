"""The periodic check for jobs whose worker died: resume them, or fail them with the reason.

A running job's supervisor writes a heartbeat every LAYERLOOM_HEARTBEAT_INTERVAL seconds.
A heartbeat older than LAYERLOOM_HEARTBEAT_TIMEOUT whose worker does not answer a ping
means the process is gone (kill -9, machine lost, hard time limit). The job is then sent
again (it resumes from its last epoch checkpoint) until LAYERLOOM_JOB_MAX_ATTEMPTS, or
marked failed with a reason a person can act on.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from workers import lifecycle
from workers.models import TrainingJob

log = logging.getLogger(__name__)


def live_workers(names: list[str]) -> set[str]:
    """Which of these Celery nodes answer a ping (empty when the broker is unreachable)."""
    if not names:
        return set()
    from webapp.celery import app

    try:
        replies = app.control.ping(destination=names, timeout=1.0) or []
    except Exception:  # noqa: BLE001 - a broker outage must not stop the check
        log.warning("could not ping workers %s", names, exc_info=True)
        return set()
    return {name for reply in replies for name in reply}


def reap_stale_jobs(now: object = None) -> dict[str, list[int]]:
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.LAYERLOOM_HEARTBEAT_TIMEOUT)  # type: ignore[operator]
    stale = list(TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=cutoff))
    alive = live_workers(sorted({job.worker_host for job in stale if job.worker_host}))
    done: dict[str, list[int]] = {"requeued": [], "failed": []}
    for job in stale:
        if job.worker_host in alive:
            continue  # the worker is up: a long step, or a slow database; look again next time
        reason = failure_reason(job, now)
        if reason is None:
            if lifecycle.requeue_dead_run(job):
                done["requeued"].append(job.pk)
        elif lifecycle.fail_dead_run(job, reason):
            done["failed"].append(job.pk)
    if any(done.values()):
        log.warning("stale training jobs: %s", done)
    return done


def failure_reason(job: TrainingJob, now: object) -> str | None:
    """Why the job cannot be resumed, or None when it should be."""
    limit = settings.LAYERLOOM_JOB_TIME_LIMIT
    if job.started_at and (now - job.started_at).total_seconds() > limit:  # type: ignore[operator]
        return f"Stopped: the job reached its time limit of {limit} seconds (the worker was stopped)."
    if job.attempts >= settings.LAYERLOOM_JOB_MAX_ATTEMPTS:
        return (
            f"The worker running this job ({job.worker_host or 'unknown'}) stopped responding "
            f"{job.attempts} times; giving up. The last heartbeat was at {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC."
        )
    return None
