"""Celery tasks for training. They stay thin: ids in, the row re-read, work elsewhere.

Neither this module nor anything it imports at module level touches TensorFlow or torch;
the job itself runs in a fresh child process started by workers.training.supervisor.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="workers.train_job", bind=True, acks_late=True, ignore_result=True)
def train_job(self: Any, job_id: int) -> str:
    """Take the job (atomically) and run it; a message for a job that is taken or done is a no-op."""
    from workers.training.supervisor import run_job

    return run_job(job_id, node=self.request.hostname or "")


@shared_task(name="workers.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, list[int]]:
    """Periodic (beat): resume or fail running jobs whose worker stopped sending heartbeats."""
    from workers.training.recovery import reap_stale_jobs as reap

    return reap()
