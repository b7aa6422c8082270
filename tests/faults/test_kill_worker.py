"""kill -9 of the worker mid-epoch: the job is sent again and resumes from its checkpoint."""

from __future__ import annotations

import json
import time

import pytest

from tests.faults.helpers import fault_worker, long_job
from tests.workers.helpers import wait_for, wait_status
from workers.models import TrainingJob
from workers.recovery import reap_stale_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def test_killed_worker_job_resumes_on_a_new_worker(alice, worker_factory, private_queue, settings):
    settings.LAYERLOOM_HEARTBEAT_TIMEOUT = 3
    first = fault_worker(worker_factory, private_queue)
    # 4,500 batches an epoch (0.5-1 s on the CPU): long enough to be caught mid-run.
    job = long_job(alice, epochs=4, n=60000)

    def past_first_checkpoint() -> bool:
        job.refresh_from_db()
        assert job.status in ("queued", "running"), f"job {job.status} before it could be killed: {job.error}"
        return job.status == "running" and (job.epoch >= 2 or (job.epoch >= 1 and job.batch > 0)) and job.epoch < 4

    wait_for(past_first_checkpoint, 180, 0.1, "the job to be past its first epoch")
    first.kill()  # SIGKILL to the worker's whole process group, the training child included
    job.refresh_from_db()
    position = (job.epoch, job.batch)
    # What a resume must start from: the last checkpoint written (read after the kill, since the
    # run may have finished another epoch between the wait above and the kill).
    checkpoint = json.loads((job.checkpoint_dir / "state.json").read_text())["epoch"]
    assert 1 <= checkpoint <= job.epoch
    time.sleep(2)
    job.refresh_from_db()
    assert (job.epoch, job.batch) == position, "a training process outlived its worker"
    assert job.status == TrainingJob.Status.RUNNING  # nobody has noticed yet

    # The periodic check finds the stale heartbeat and a worker that does not answer.
    wait_for(lambda: reap_stale_jobs()["requeued"] == [job.pk], 30, 0.5, "the stale-job check to requeue it")
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.QUEUED

    second = fault_worker(worker_factory, private_queue)
    job = wait_status(job, *TrainingJob.FINISHED, timeout=180, worker=second)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.resumed_from_epoch == checkpoint
    assert job.worker_host != "" and job.epoch == 4
    assert list(job.metrics.values_list("epoch", flat=True)) == [1, 2, 3, 4]
    assert job.evaluation["split"] == "test"
