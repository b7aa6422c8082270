"""Celery tasks for training. They stay thin: ids in, the row re-read, work elsewhere.

Neither this module nor anything it imports at module level touches TensorFlow or torch;
the job itself runs in a child process started by workers.supervisor.
"""

from __future__ import annotations

import os
from typing import Any

from celery import current_app, shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings

from workers import (
    estimates,
    placement,  # noqa: F401 - registers the worker's layerloom_trainer inspect command
)
from workers.recovery import dispatch_all
from workers.recovery import reap_stale_jobs as reap
from workers.supervisor import STANDBY, run_job

ONE_TASK_PER_CHILD = "LAYERLOOM_POOL_ONE_TASK"  # set by the worker for the pool processes it forks


@shared_task(name="workers.train_job", bind=True, acks_late=True, ignore_result=True)
def train_job(self: Any, job_id: int) -> str:
    """Take the job (atomically) and run it; a message for a job that is taken or done is a no-op."""
    return run_job(job_id, node=self.request.hostname or "")


@shared_task(name="workers.estimate_job", acks_late=False, ignore_result=True)
def estimate_job(estimate_id: int) -> str:
    """A queued dry-run estimate: run it in a child, watched; a message for one taken or over is a no-op."""
    return estimates.run(estimate_id)


@shared_task(name="workers.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, list[int]]:
    """Periodic (beat): resume or fail running jobs whose worker stopped sending heartbeats."""
    return reap()


@shared_task(name="workers.dispatch_waiting", ignore_result=True)
def dispatch_waiting() -> dict[str, list[int]]:
    """Periodic (beat): send the queued jobs and estimates whose owner's turn was not passed on."""
    return dispatch_all()


@worker_init.connect
def _note_max_tasks_per_child(sender: Any = None, **kwargs: Any) -> None:
    """With --max-tasks-per-child 1 a pool process ends after its job: no standby after it."""
    if getattr(sender, "max_tasks_per_child", None) == 1:
        os.environ[ONE_TASK_PER_CHILD] = "1"


@worker_process_init.connect
def _start_standby_children(**kwargs: Any) -> None:
    """In a training worker's new pool process: start the children that wait, frameworks imported."""
    queues = list(current_app.amqp.queues.consume_from or ())
    base = settings.LAYERLOOM_TRAINING_QUEUE
    if not any(name == base or name.startswith(f"{base}-") for name in queues):
        return
    STANDBY.enable(settings.LAYERLOOM_STANDBY_FRAMEWORKS, rewarm=os.environ.get(ONE_TASK_PER_CHILD) != "1")
