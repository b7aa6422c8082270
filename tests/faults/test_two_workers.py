"""Two workers, three jobs: one job each, and the third goes to whichever worker frees first."""

from __future__ import annotations

import os
import signal

import pytest

from tests.faults.helpers import fault_worker, frozen_after_a_checkpoint, long_job
from tests.workers.helpers import wait_status
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


def test_third_job_starts_on_the_first_free_worker(alice, worker_factory, private_queue, settings):
    settings.LAYERLOOM_DISPATCH_PER_USER = 3  # one user's jobs may fill both trainers (the fair share's setting)
    workers = [fault_worker(worker_factory, private_queue) for _ in range(2)]
    # The first job is frozen (SIGSTOP) mid-run: its worker stays busy for as long as the test says.
    busy = long_job(alice, epochs=4, n=3000)
    frozen = frozen_after_a_checkpoint(busy, 4)
    try:
        second = long_job(alice, epochs=1, n=600)
        wait_status(second, "running", *TrainingJob.FINISHED, timeout=90, worker=workers[1])
        third = long_job(alice, epochs=1, n=600)
        for job in (second, third):
            wait_status(job, *TrainingJob.FINISHED, timeout=90, worker=workers[1])
            assert job.status == TrainingJob.Status.SUCCEEDED, job.error
        busy.refresh_from_db()
        # The third job did not wait for the busy worker (nor sit in its prefetch buffer): it ran
        # on the worker the second job freed, after that one, while the first was still running.
        assert busy.status == TrainingJob.Status.RUNNING and busy.worker_host != second.worker_host
        assert third.worker_host == second.worker_host
        assert third.started_at >= second.finished_at
    finally:
        os.kill(frozen, signal.SIGCONT)
    busy = wait_status(busy, *TrainingJob.FINISHED, timeout=240, worker=workers[0])
    assert busy.status == TrainingJob.Status.SUCCEEDED, busy.error
    assert busy.attempts == 1  # frozen is not dead: it was never restarted
