"""Two workers, three jobs: one job each, and the third goes to whichever worker frees first."""

from __future__ import annotations

import pytest

from tests.faults.helpers import fault_worker, long_job
from tests.workers.helpers import wait_status
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


def test_third_job_starts_on_the_first_free_worker(alice, worker_factory, private_queue):
    workers = [fault_worker(worker_factory, private_queue) for _ in range(2)]
    # The second job trains for 10-20 s, far longer than a worker takes to replace its pool
    # process after the first job: the first worker is free, and ready, well before the second.
    jobs = [long_job(alice, epochs=epochs, n=n) for epochs, n in ((1, 600), (20, 60000), (1, 600))]
    for job in jobs:
        wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=workers[0])
        assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    first, second, third = jobs
    assert first.worker_host != second.worker_host  # both workers took one
    freed = min((first, second), key=lambda j: j.finished_at)
    assert third.worker_host == freed.worker_host
    assert third.started_at >= freed.finished_at
    # A worker with one process never runs two jobs at once.
    other = second if freed is first else first
    assert third.started_at >= other.started_at
