"""A job resumes only a checkpoint it wrote itself (issue 12, defect 1, the checkpoint half).

Another job's checkpoint in a new job's folder (a data folder that outlived its database, a
reused id) is refused with a log line: the new job trains from epoch 0 and ends with its own
checkpoint. The planted checkpoint would otherwise fit: same framework, same layer shapes,
fewer epochs than the new job asks for.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.faults.helpers import fault_worker
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.models import TrainingJob
from workers.services import submit_job
from workers.training.checkpoints import owner_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_checkpoint_another_job_wrote_is_refused(alice, bob, worker_factory, private_queue, framework):
    def submit(owner, epochs):  # type: ignore[no-untyped-def]
        ds = make_dataset(owner, "tabular", n=240)
        params = hp(epochs=epochs)
        return submit_job(owner, spec=SPECS["tabular"], dataset=ds, framework=framework, hyperparameters=params)

    env = {"LAYERLOOM_STANDBY_FRAMEWORKS": framework}
    first = fault_worker(worker_factory, private_queue, **env)
    old = wait_status(submit(alice, 2), *TrainingJob.FINISHED, timeout=600, worker=first)
    assert old.status == TrainingJob.Status.SUCCEEDED, old.error
    first.stop()

    new = submit(bob, 3)  # queued: no worker reads the queue until the checkpoint is planted
    shutil.copytree(old.checkpoint_dir, new.checkpoint_dir)
    assert json.loads((new.checkpoint_dir / "state.json").read_text())["epoch"] == 2

    second = fault_worker(worker_factory, private_queue, **env)
    new = wait_status(new, *TrainingJob.FINISHED, timeout=600, worker=second)
    assert new.status == TrainingJob.Status.SUCCEEDED, new.error
    assert new.resumed_from_epoch is None and new.attempts == 1
    assert list(new.metrics.values_list("epoch", flat=True)) == [1, 2, 3]
    assert f"job {new.pk}: ignoring a checkpoint" in second.log()
    state = json.loads((new.checkpoint_dir / "state.json").read_text())
    assert state["owner"] == owner_of(new) and state["epoch"] == 3
