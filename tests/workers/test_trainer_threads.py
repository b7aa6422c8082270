"""A job's process sizes its math threads to the cores it is given and lets idle OpenMP threads sleep."""

from __future__ import annotations

import os

import pytest

from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.models import TrainingJob
from workers.placement import training_queues
from workers.services import submit_job
from workers.training.backends import threads

# The worker's environment: the trainer setting at 2, torch's own variable set by the operator
# (it wins for torch), TensorFlow's left empty (the setting fills it). The suite's own
# single-thread variables would otherwise reach the worker and decide every count.
ENV = {"LAYERLOOM_EXPORT_ARTIFACTS": "0", "LAYERLOOM_STANDBY_FRAMEWORKS": "none", "LAYERLOOM_TRAINER_THREADS": "2",
       "OMP_NUM_THREADS": "3", "TF_NUM_INTRAOP_THREADS": "", "TF_NUM_INTEROP_THREADS": "", "OMP_WAIT_POLICY": ""}  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.one_backend  # a process's threads do not depend on the database or broker
def test_the_jobs_process_runs_with_the_configured_threads(alice, worker_factory, private_queue):
    worker = worker_factory(queues=training_queues(private_queue), concurrency=1, extra_env=ENV)
    ds = make_dataset(alice, "tabular")
    for framework in ("torch", "keras"):
        job = submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework=framework, hyperparameters=hp(epochs=1))
        job = wait_status(job, *TrainingJob.FINISHED, timeout=180, worker=worker)
        assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    log = worker.log()
    # Read back from the frameworks in the job's process (torch.get_num_threads(), TF's config).
    assert "torch threads: 3 intra-op, 3 inter-op (OMP_WAIT_POLICY=PASSIVE)" in log, log[-3000:]
    assert "TensorFlow threads: 2 intra-op, 2 inter-op" in log, log[-3000:]


def test_the_default_follows_the_affinity(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    assert threads.trainer_threads(0) == 5  # one core left for the web process and the default worker
    assert threads.trainer_threads(3) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {7})
    assert threads.trainer_threads(0) == 1  # never none
    with pytest.raises(ValueError, match="LAYERLOOM_TRAINER_THREADS=-1 is negative"):
        threads.trainer_threads(-1)


def test_the_default_follows_this_process_affinity():
    """Narrowed like a container's cpuset or taskset would (restored after)."""
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert threads.trainer_threads(0) == 1
    finally:
        os.sched_setaffinity(0, before)
    assert threads.trainer_threads(0) == max(1, len(before) - 1)


def test_the_childs_environment_keeps_what_the_operator_set():
    env = threads.child_environment({"OMP_NUM_THREADS": "4", "TF_NUM_INTEROP_THREADS": "", "PATH": "/bin"}, 2)
    assert env["OMP_NUM_THREADS"] == "4" and env["PATH"] == "/bin"
    assert env["TF_NUM_INTEROP_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == env["MKL_NUM_THREADS"] == "2"
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["KMP_BLOCKTIME"] == "0"


def test_a_bad_thread_variable_is_named(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="OMP_NUM_THREADS='many' is not a thread count"):
        threads.pool_size("OMP_NUM_THREADS", 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert threads.pool_size("OMP_NUM_THREADS", 2) == 2
