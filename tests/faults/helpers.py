"""Shared pieces of the fault tests: long-enough torch jobs and fast-heartbeat workers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import connection

from tests.workers.helpers import SPECS, hp, make_dataset, wait_for
from workers.models import TrainingJob
from workers.placement import training_queues
from workers.services import submit_job

# Workers for fault tests: a fast heartbeat, and no model export (these tests are about
# the job's lifecycle; the end-to-end tests cover exports).
# Their jobs are torch jobs: only a torch standby process waits (no TensorFlow import per job).
# They read finished jobs' checkpoints (final weights, the planted foreign checkpoint), which a
# succeeded job otherwise removes. One math thread: on a 2-core machine shared with the test
# process, torch's two threads wait on each other and a job's epochs slow down many times over.
FAULT_ENV = {"LAYERLOOM_HEARTBEAT_INTERVAL": "1", "LAYERLOOM_EXPORT_ARTIFACTS": "0",
             "LAYERLOOM_STANDBY_FRAMEWORKS": "torch", "LAYERLOOM_KEEP_CHECKPOINTS": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip


def long_job(owner: Any, epochs: int = 8, n: int = 3000, **overrides: Any) -> TrainingJob:
    """A torch job with a few hundred batches per epoch: long enough to interrupt mid-epoch."""
    ds = make_dataset(owner, "tabular", n=n)
    params = hp(epochs=epochs, batch_size=8, learning_rate=0.001, **overrides)
    return submit_job(owner, spec=SPECS["tabular"], dataset=ds, framework="torch", hyperparameters=params)


def fault_worker(worker_factory: Any, queue: str, name: str | None = None, **env: str) -> Any:
    return worker_factory(queues=training_queues(queue), concurrency=1, max_tasks_per_child=1, extra_env={**FAULT_ENV, **env},
                          name=name)  # fmt: skip


# A small MLP with dropout: a resumed run must also replay the dropout masks (RNG state).
DROPOUT_SPEC = {
    "format": 1, "name": "mlp-dropout", "input": {"shape": [6]},
    "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
        {"id": "drop", "type": "Dropout", "params": {"rate": 0.3}},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ],
}  # fmt: skip
TIMINGS = {"epoch_seconds", "epoch_cpu_seconds", "samples_per_second"}


def children_of(pid: int) -> list[int]:
    """The processes whose parent is pid (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def final_weights(job: TrainingJob) -> list[np.ndarray]:
    """The arrays of the job's last checkpoint (model and optimizer), in a fixed order."""
    state = json.loads((job.checkpoint_dir / "state.json").read_text())
    path = job.checkpoint_dir / state["weights"]
    if job.framework == "keras":
        with np.load(path) as data:
            return [data[key] for key in sorted(data.files)]
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=True)
    arrays = [v.numpy() for _, v in sorted(payload["model"].items())]
    for group in payload["optimizer"]["state"].values():
        arrays += [v.numpy() for _, v in sorted(group.items())]
    return arrays


def assert_same_run(resumed: TrainingJob, reference: TrainingJob) -> None:
    """Same per-epoch metrics, evaluation and final weights, to 1e-6 (timings aside)."""
    got = [m.values for m in resumed.metrics.order_by("epoch")]
    want = [m.values for m in reference.metrics.order_by("epoch")]
    assert len(got) == len(want) == reference.total_epochs
    for epoch, (a, b) in enumerate(zip(got, want, strict=True), start=1):
        for key in set(b) - TIMINGS:
            assert a[key] == pytest.approx(b[key], abs=1e-6), (epoch, key, a[key], b[key])
    for key in ("loss", "accuracy"):
        assert resumed.evaluation[key] == pytest.approx(reference.evaluation[key], abs=1e-6), key
    for a, b in zip(final_weights(resumed), final_weights(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def frozen_after_a_checkpoint(job: TrainingJob, epochs: int) -> int:
    """Once the run has recorded its first epoch, freeze its training process (SIGSTOP): it is then
    inside epoch 2 or later, with a checkpoint, and stays there until it is killed. Returns its pid."""

    def ready() -> bool:
        job.refresh_from_db()
        assert job.status in ("queued", "running"), f"job {job.status} before it could be stopped: {job.error}"
        # The epoch's Metric row and progress are written just before its checkpoint.
        return job.status == "running" and job.epoch >= 1 and (job.checkpoint_dir / "state.json").exists()

    wait_for(ready, 600, 0.05, "the job to checkpoint its first epoch")
    pid = training_process(job)
    os.kill(pid, signal.SIGSTOP)
    # On SQLite a process frozen inside a write transaction keeps the database's one write lock
    # until it is killed, and every other writer (the test, the other trainer) then waits in vain:
    # freeze it again a moment later until it is stopped outside one.
    for _ in range(200):
        if not holds_sqlite_write_lock():
            break
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
        os.kill(pid, signal.SIGSTOP)
    else:
        raise AssertionError("the training process kept the SQLite write lock through 200 tries")
    job.refresh_from_db()
    assert job.status == "running" and 1 <= job.epoch < epochs, (job.status, job.epoch)
    return pid


def holds_sqlite_write_lock() -> bool:
    """Whether another connection holds the SQLite database's write lock (False on other backends)."""
    if connection.vendor != "sqlite":
        return False
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def training_process(job: TrainingJob) -> int:
    """The job's own process: the pool process's child started for it, or its standby that took it."""
    children = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children_of(job.worker_pid)}
    for pid, args in children.items():
        if job.run_token.encode() in args or args[-2:] == [f"{job.framework}".encode(), b""]:
            return pid
    raise AssertionError(f"no training process among {children}")
