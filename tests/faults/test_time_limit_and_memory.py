"""Time limits and running out of memory end a job as failed, with a message that says why."""

from __future__ import annotations

import pytest

from tests.faults.helpers import fault_worker, long_job
from tests.workers.helpers import hp, make_dataset, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {
    "format": 1, "name": "wide", "input": {"shape": [6]},
    "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 4096, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ],
}  # fmt: skip


def test_soft_time_limit_fails_the_job_and_frees_the_worker(alice, worker_factory, private_queue):
    # Celery's soft limit is LAYERLOOM_JOB_TIME_LIMIT seconds (the hard one 300 s later).
    # 15 s: the short job after it must finish inside the same limit, its process's start included,
    # on a machine busy with other test runs (at 8 s it once did not).
    worker = fault_worker(worker_factory, private_queue, LAYERLOOM_JOB_TIME_LIMIT="15")
    job = long_job(alice, epochs=2000)  # far longer than the 15 s limit, however fast the loop gets
    job = wait_status(job, *TrainingJob.FINISHED, timeout=120, worker=worker)
    assert job.status == TrainingJob.Status.FAILED and "time limit of 15 seconds" in job.error
    # Whatever finished before the limit is kept: one row per completed epoch, no gaps.
    epochs = list(job.metrics.values_list("epoch", flat=True))
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) >= job.epoch, (epochs, job.epoch)
    the_worker_takes_the_next_job(alice, worker)


def the_worker_takes_the_next_job(owner, worker) -> None:
    """The failed job left its worker free: a short job on the same queue runs to the end there."""
    after = wait_status(long_job(owner, epochs=1, n=200), *TrainingJob.FINISHED, timeout=120, worker=worker)
    assert after.status == TrainingJob.Status.SUCCEEDED, f"{after.error}\n{worker.log()[-3000:]}"
    assert after.worker_host.split("@")[0] == worker.name.split("@")[0], (after.worker_host, worker.name)


def test_out_of_memory_names_the_cause_and_suggests_a_smaller_batch(alice, worker_factory, private_queue):
    """A real allocation failure, made safe: the job's process gets an address-space cap.

    LAYERLOOM_JOB_MEMORY_LIMIT_MB=48 lets the job allocate 48 MiB beyond what it holds when
    training starts; one batch of 4096 samples through Dense(4096) needs 64 MiB, so torch's
    allocator fails exactly as it does when a machine runs out, without the machine doing so.
    """
    worker = fault_worker(worker_factory, private_queue, LAYERLOOM_JOB_MEMORY_LIMIT_MB="48")
    ds = make_dataset(alice, "tabular", n=8000)
    job = submit_job(alice, spec=WIDE, dataset=ds, framework="torch", hyperparameters=hp(batch_size=4096, epochs=1))
    job = wait_status(job, *TrainingJob.FINISHED, timeout=120, worker=worker)
    assert job.status == TrainingJob.Status.FAILED
    assert "Out of memory" in job.error and "batch size of 2048 or less" in job.error
    the_worker_takes_the_next_job(alice, worker)
