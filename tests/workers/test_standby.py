"""Standby processes: a training worker's job runs in a process that imported its framework ahead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers.helpers import SPECS, hp, make_dataset, wait_for, wait_status
from workers.models import TrainingJob
from workers.placement import training_queues
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
ENV = {"LAYERLOOM_EXPORT_ARTIFACTS": "0", "LAYERLOOM_STANDBY_FRAMEWORKS": "torch"}


def standby_children(parent: int) -> list[int]:
    """Pids of the `--standby torch` processes whose parent is this pool process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"--standby" in cmdline and b"torch" in cmdline:
            found.append(int(entry.name))
    return found


def test_jobs_run_in_the_waiting_process_and_a_new_one_waits_after(alice, worker_factory, private_queue):
    worker = worker_factory(queues=training_queues(private_queue), concurrency=1, extra_env=ENV)
    ds = make_dataset(alice, "tabular")
    first = submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch", hyperparameters=hp(epochs=1))
    first = wait_status(first, *TrainingJob.FINISHED, timeout=120, worker=worker)
    assert first.status == TrainingJob.Status.SUCCEEDED, first.error
    assert f"job {first.pk}: handed to the waiting torch process" in worker.log()

    # The pool process lives on (no --max-tasks-per-child): a replacement waits for the next job.
    wait_for(lambda: len(standby_children(first.worker_pid)) == 1, 30, 0.2, "a new standby process")
    second = submit_job(alice, spec=SPECS["tabular"], dataset=ds, framework="torch", hyperparameters=hp(epochs=1))
    second = wait_status(second, *TrainingJob.FINISHED, timeout=120, worker=worker)
    assert second.status == TrainingJob.Status.SUCCEEDED, second.error
    assert f"job {second.pk}: handed to the waiting torch process" in worker.log()


def test_a_standby_whose_input_ends_exits_without_running_anything():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings.test"}
    done = subprocess.run([sys.executable, "-m", "workers.training.child", "--standby", "none"], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
