"""Celery tasks for training. They stay thin: ids in, the row re-read, work elsewhere.

Neither this module nor anything it imports at module level touches TensorFlow or torch;
the job itself runs in a child process started by workers.supervisor.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import billiard
from celery import current_app, shared_task
from celery.signals import worker_init, worker_process_init, worker_shutting_down
from django.conf import settings

from workers import (
    estimates,
    placement,  # noqa: F401 - registers the worker's layerloom_trainer inspect command
)
from workers.recovery import dispatch_all
from workers.recovery import reap_stale_jobs as reap
from workers.supervisor import HANDOVER_SIGNAL, STANDBY, request_handover, run_job

ONE_TASK_PER_CHILD = "LAYERLOOM_POOL_ONE_TASK"  # set by the worker for the pool processes it forks


@shared_task(name="workers.train_job", bind=True, acks_late=True, ignore_result=True)
def train_job(self: Any, job_id: int) -> str:
    """Take the job (atomically) and run it; a message for a job that is taken or done is a no-op."""
    if threading.current_thread() is threading.main_thread():
        # Here, not at the pool process's start: billiard resets every signal after its initializer.
        signal.signal(HANDOVER_SIGNAL, request_handover)
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


def _is_trainer() -> bool:
    queues = list(current_app.amqp.queues.consume_from or ())
    base = settings.LAYERLOOM_TRAINING_QUEUE
    return any(name == base or name.startswith(f"{base}-") for name in queues)


@worker_process_init.connect
def _start_standby_children(**kwargs: Any) -> None:
    """In a training worker's new pool process: start the children that wait, frameworks imported."""
    if not _is_trainer():
        return
    STANDBY.enable(settings.LAYERLOOM_STANDBY_FRAMEWORKS, rewarm=os.environ.get(ONE_TASK_PER_CHILD) != "1")


@worker_shutting_down.connect
def _hand_running_jobs_over(how: str = "", **kwargs: Any) -> None:
    """A trainer's warm shutdown (SIGTERM): its pool processes hand their jobs back to the queue.

    Celery itself would wait for each running task to end; a job may run for hours. The
    handover keeps every checkpointed epoch, and the job resumes on the next free trainer.
    """
    if how != "Warm" or not _is_trainer():
        return
    # An idle pool process has billiard's handler for the signal and just exits: nothing to hand over.
    for process in billiard.process.active_children():
        if process.pid:
            os.kill(process.pid, HANDOVER_SIGNAL)
