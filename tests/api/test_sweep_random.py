"""A 12-trial random sweep over the learning rate and a layer's width, in each framework, on a
real worker: it finishes, Optuna's median rule prunes trials that trail, the best trial on
validation wins, and that trial alone is evaluated on the test split (no other trial has test
metrics or test predictions)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from builder.models import Architecture
from sweeps.models import Sweep
from tests.workers.helpers import SPECS, hp, make_dataset, wait_for
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)
EPOCHS = 4


@pytest.mark.timeout(600)
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_12_trial_random_sweep_prunes_and_tests_only_the_best_validation_trial(
    celery_worker: Any, alice: Any, alice_api: Any, framework: str
) -> None:
    dataset = make_dataset(alice, "tabular", n=120)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    body = {
        "dataset": dataset.pk, "architectures": [arch.pk], "framework": framework, "method": "random", "seed": 3,
        "max_trials": 12, "parallel": 2,
        "space": {"learning_rate": {"low": 1e-6, "high": 0.1, "log": True},
                  "layers.h.units": {"low": 4, "high": 32, "integer": True, "step": 4}},
        "hyperparameters": hp(epochs=EPOCHS),
    }  # fmt: skip
    response = alice_api.post("/api/sweeps/", body, format="json")
    assert response.status_code == 201, response.json()
    sweep_id = response.json()["id"]
    try:
        wait_for(lambda: Sweep.objects.get(pk=sweep_id).status not in Sweep.ACTIVE, 540, 0.5, "the sweep to end")
    except AssertionError:
        raise AssertionError(celery_worker.log()[-6000:]) from None

    detail = alice_api.get(f"/api/sweeps/{sweep_id}/").json()
    assert detail["status"] == "finished", detail["note"]
    trials = detail["trials"]
    assert len(trials) == 12 and len({(t["params"]["learning_rate"], t["params"]["layers.h.units"])
                                      for t in trials}) == 12  # fmt: skip
    statuses = [t["status"] for t in trials]
    assert set(statuses) <= {"succeeded", "pruned"} and "pruned" in statuses, statuses
    for trial in trials:
        job = TrainingJob.objects.get(pk=trial["job"])
        assert job.hyperparameters["learning_rate"] == trial["params"]["learning_rate"]
        assert job.spec["layers"][0]["params"]["units"] == trial["params"]["layers.h.units"]
        if trial["status"] == "pruned":  # stopped at the batch after the epoch it trailed at (the last one, too)
            assert job.epoch <= EPOCHS and trial["value"] is None and "pruner" in job.error
    finished = [t for t in trials if t["status"] == "succeeded"]
    best = min(finished, key=lambda t: t["value"])
    assert detail["winner"] == best["job"] and math.isfinite(best["value"])
    winner = TrainingJob.objects.get(pk=best["job"])
    assert winner.evaluation["split"] == "test" and winner.artifacts.filter(kind="test_predictions").exists()
    others = TrainingJob.objects.filter(sweep_trial__sweep_id=sweep_id).exclude(pk=winner.pk)
    assert others.count() == 11
    for job in others:
        assert job.evaluation == {} and not job.artifacts.filter(kind="test_predictions").exists(), job.pk
    print(f"\n{framework}: {statuses.count('pruned')} of 12 pruned; winner lr {best['params']['learning_rate']:.2g}, "
          f"units {best['params']['layers.h.units']}, val_loss {best['value']:.3f}, "
          f"test accuracy {winner.evaluation['accuracy']:.3f}")  # fmt: skip
