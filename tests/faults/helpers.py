"""Shared pieces of the fault tests: long-enough torch jobs and fast-heartbeat workers."""

from __future__ import annotations

from typing import Any

from tests.workers.helpers import SPECS, hp, make_dataset
from workers.models import TrainingJob
from workers.services import submit_job

# Workers for fault tests: a fast heartbeat, and no model export (these tests are about
# the job's lifecycle; the end-to-end tests cover exports).
# Their jobs are torch jobs: only a torch standby process waits (no TensorFlow import per job).
FAULT_ENV = {"LAYERLOOM_HEARTBEAT_INTERVAL": "1", "LAYERLOOM_EXPORT_ARTIFACTS": "0",
             "LAYERLOOM_STANDBY_FRAMEWORKS": "torch"}  # fmt: skip


def long_job(owner: Any, epochs: int = 8, n: int = 3000, **overrides: Any) -> TrainingJob:
    """A torch job with a few hundred batches per epoch: long enough to interrupt mid-epoch."""
    ds = make_dataset(owner, "tabular", n=n)
    params = hp(epochs=epochs, batch_size=8, learning_rate=0.001, **overrides)
    return submit_job(owner, spec=SPECS["tabular"], dataset=ds, framework="torch", hyperparameters=params)


def fault_worker(worker_factory: Any, queue: str, **env: str) -> Any:
    return worker_factory(queues=queue, concurrency=1, max_tasks_per_child=1, extra_env={**FAULT_ENV, **env})
