"""Same spec, data, seed and framework on the CPU twice: the same final metrics (to 1e-6)."""

from __future__ import annotations

import pytest

from tests.faults.helpers import fault_worker
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

# Whether two runs give the same numbers does not depend on the database or broker that stored them.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]
TIMINGS = {"epoch_seconds", "epoch_cpu_seconds", "samples_per_second"}


@pytest.mark.parametrize(("framework", "kind"), [("keras", "images"), ("torch", "regression")])
def test_two_runs_give_the_same_numbers(alice, worker_factory, private_queue, framework, kind):
    worker = fault_worker(worker_factory, private_queue)
    ds = make_dataset(alice, kind, n=160)
    params = hp(epochs=2, seed=7, optimizer="adam")
    runs = []
    for _ in range(2):
        job = submit_job(alice, spec=SPECS[kind], dataset=ds, framework=framework, hyperparameters=params)
        job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=worker)
        assert job.status == TrainingJob.Status.SUCCEEDED, job.error
        runs.append(job)
    first, second = ([m.values for m in job.metrics.all()] for job in runs)
    for a, b in zip(first, second, strict=True):
        for key in set(a) - TIMINGS:
            assert a[key] == pytest.approx(b[key], abs=1e-6), key
    key = "mae" if kind == "regression" else "accuracy"
    assert runs[0].evaluation[key] == pytest.approx(runs[1].evaluation[key], abs=1e-6)
    assert runs[0].evaluation["loss"] == pytest.approx(runs[1].evaluation["loss"], abs=1e-6)
