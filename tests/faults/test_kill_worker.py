"""Runs stopped from outside resume from their checkpoint and end as if never interrupted.

Each case of a run stopped mid-epoch, with real worker processes: kill -9 of the whole worker,
of its pool process only, of the job's own training process, a stop and start of the worker
under the same node name, a warm shutdown (SIGTERM) that hands the job to another trainer, cancel
of a stuck job and an operator's requeue after it. Every job
ends succeeded, failed with a clear message or cancelled within a bounded time, and a resumed
job has the same per-epoch metrics, evaluation and final weights (1e-6) as the same job run
without interruption. `reap_stale_jobs` is called here as beat calls it in production.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest

from tests.faults.helpers import DROPOUT_SPEC, assert_same_run, fault_worker, frozen_after_a_checkpoint
from tests.workers.helpers import hp, make_dataset, wait_for
from workers import liveness
from workers.models import TrainingJob
from workers.recovery import reap_stale_jobs
from workers.services import cancel_job, requeue_job, submit_job

# Two full trainings per test (one interrupted): on a busy shared CPU that is minutes, not seconds.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1800)]
# 900 batches an epoch (a fraction of a second on a quiet CPU): the run is frozen (SIGSTOP) as
# soon as its first epoch is recorded, so catching it mid-run does not depend on the speed.
ROWS, EPOCHS = 12000, 4


def submit(owner: Any, ds: Any, framework: str) -> TrainingJob:
    params = hp(epochs=EPOCHS, batch_size=8, learning_rate=0.001, seed=5)
    return submit_job(owner, spec=DROPOUT_SPEC, dataset=ds, framework=framework, hyperparameters=params)


def finish(job: TrainingJob, worker: Any, timeout: float = 900) -> TrainingJob:
    """Wait for a final state, running the recovery check as beat would (more often: nothing waits on it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap_stale_jobs()
        job.refresh_from_db()
        if job.status in TrainingJob.FINISHED:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job.pk} still {job.status} after {timeout}s\n{worker.log()[-4000:]}")


def succeeded(job: TrainingJob, worker: Any) -> TrainingJob:
    job = finish(job, worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, f"{job.error}\n{worker.log()[-4000:]}"
    return job


def reference_then_frozen(owner: Any, framework: str, worker: Any) -> tuple[TrainingJob, TrainingJob, int]:
    """An uninterrupted run, then the same job frozen mid-run: (reference, job, its training process)."""
    ds = make_dataset(owner, "tabular", n=ROWS)
    reference = succeeded(submit(owner, ds, framework), worker)
    job = submit(owner, ds, framework)
    return reference, job, frozen_after_a_checkpoint(job, EPOCHS)


def checkpoint_epoch(job: TrainingJob) -> int:
    return json.loads((job.checkpoint_dir / "state.json").read_text())["epoch"]


def assert_resumed(job: TrainingJob, checkpoint: int) -> None:
    assert job.attempts == 2 and job.resumed_from_epoch == checkpoint, (job.attempts, job.resumed_from_epoch)
    assert list(job.metrics.values_list("epoch", flat=True)) == list(range(1, EPOCHS + 1))
    assert job.interruption.startswith("Attempt 1 stopped: ") and job.interruption.endswith(
        "Resumed from its last checkpoint."
    )


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_killed_worker_resumes_and_ends_as_an_uninterrupted_run(alice, worker_factory, private_queue, framework):
    first = fault_worker(worker_factory, private_queue)
    reference, job, child = reference_then_frozen(alice, framework, first)
    first.kill()  # SIGKILL to the worker's whole process group, the training child included
    checkpoint = checkpoint_epoch(job)  # read after the kill: the run may have saved another meanwhile
    wait_for(lambda: liveness.identity(child) == "", 10, 0.05, "the training process to end with its worker")
    # The check sees that the owning process is gone as soon as it has exited (a process killed
    # with a gigabyte to free can take a moment), long before the 60 s heartbeat timeout.
    wait_for(lambda: reap_stale_jobs()["requeued"] == [job.pk], 10, 0.1, "the recovery check to requeue the job")
    second = fault_worker(worker_factory, private_queue)
    job = succeeded(job, second)
    assert_resumed(job, checkpoint)
    assert "ended while the job ran" in job.interruption
    assert_same_run(job, reference)


def test_kill_of_the_jobs_training_process_resumes_it_and_says_which_signal(alice, worker_factory, private_queue):
    worker = fault_worker(worker_factory, private_queue)
    reference, job, child = reference_then_frozen(alice, "torch", worker)
    os.kill(child, signal.SIGKILL)
    checkpoint = checkpoint_epoch(job)
    job = succeeded(job, worker)
    assert_resumed(job, checkpoint)
    # Not "out of memory": the cgroup counted no OOM kill; the signal is named as it was.
    assert "the training process was killed by signal 9 (SIGKILL)." in job.interruption
    assert_same_run(job, reference)


def test_kill_of_the_pool_process_is_recovered_by_the_same_worker(alice, worker_factory, private_queue):
    worker = fault_worker(worker_factory, private_queue)
    job = submit(alice, make_dataset(alice, "tabular", n=ROWS), "torch")
    frozen_after_a_checkpoint(job, EPOCHS)
    os.kill(job.worker_pid, signal.SIGKILL)  # the pool process; the Celery parent lives on
    checkpoint = checkpoint_epoch(job)
    job = succeeded(job, worker)
    assert_resumed(job, checkpoint)
    assert f"its worker process (pid {job.worker_pid}" not in job.interruption  # a new process owns it now
    assert "ended while the job ran" in job.interruption
    assert worker.alive()


def test_a_worker_stopped_and_started_under_the_same_name_does_not_keep_the_dead_run(
    alice, worker_factory, private_queue
):
    name = f"trainer-{private_queue[-8:]}@%h"
    first = fault_worker(worker_factory, private_queue, name=name)
    job = submit(alice, make_dataset(alice, "tabular", n=ROWS), "torch")
    frozen_after_a_checkpoint(job, EPOCHS)
    # Killed outright (a warm shutdown would hand the job over instead: the next test).
    first.kill()
    checkpoint = checkpoint_epoch(job)
    second = fault_worker(worker_factory, private_queue, name=name)
    job = succeeded(job, second)
    assert_resumed(job, checkpoint)


def test_cancel_of_a_stuck_job_ends_it_and_a_requeue_really_runs_it(alice, worker_factory, private_queue, settings):
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 1
    first = fault_worker(worker_factory, private_queue)
    job = submit(alice, make_dataset(alice, "tabular", n=ROWS), "torch")
    child = frozen_after_a_checkpoint(job, EPOCHS)
    first.kill()
    checkpoint = checkpoint_epoch(job)
    # A killed process with memory to free can take a moment to exit (under CI's load it had not
    # when the cancel came): the cancel is about a run that is gone, its training process and the
    # pool process that owns the run (the one the cancel looks at) both.
    wait_for(lambda: liveness.identity(child) == "", 10, 0.05, "the training process to end with its worker")
    wait_for(lambda: liveness.is_alive(job.run_owner) is False, 10, 0.05, "the run's pool process to end")
    job = cancel_job(job)  # nobody runs it any more: cancelled now, not "cancelling" forever
    assert job.status == TrainingJob.Status.CANCELLED and job.error.startswith("Cancelled. Attempt 1 stopped")
    assert not TrainingJob.objects.filter(owner=alice, status__in=TrainingJob.ACTIVE).exists()  # quota freed

    job = requeue_job(job)  # the operator's action from the admin
    assert job.status == TrainingJob.Status.QUEUED and not job.cancel_requested
    second = fault_worker(worker_factory, private_queue)
    job = succeeded(job, second)
    assert job.attempts == 2 and job.resumed_from_epoch == checkpoint


def test_a_warm_shutdown_hands_the_running_job_to_another_trainer(alice, worker_factory, private_queue):
    first = fault_worker(worker_factory, private_queue)
    reference, job, _child = reference_then_frozen(alice, "torch", first)
    second = fault_worker(worker_factory, private_queue)
    # Celery's warm shutdown alone would wait for the job (here, frozen: forever); the trainer
    # hands it back to the queue and exits.
    first.proc.send_signal(signal.SIGTERM)
    first.proc.wait(timeout=60)
    checkpoint = checkpoint_epoch(job)
    job = succeeded(job, second)
    assert job.worker_host.startswith(second.name.split("@")[0]), job.worker_host
    # Every checkpointed epoch kept, and the handover is not counted against the job's attempts.
    assert job.attempts == 1 and job.resumed_from_epoch == checkpoint >= 1, (job.attempts, job.interruption)
    assert job.interruption.startswith(f"Attempt 1 stopped: its trainer ({first.name.split('@')[0]}@")
    assert job.interruption.endswith("was shut down. Resumed from its last checkpoint on the next free trainer.")
    assert list(job.metrics.values_list("epoch", flat=True)) == list(range(1, EPOCHS + 1))
    assert_same_run(job, reference)
