"""A sweep end to end on a real worker: trials are ordinary jobs (two queued at a time), weak ones are
pruned by Optuna's median rule, the best on validation wins, and only the winner is evaluated on
the test split; its endpoint is one action away, and Bob sees none of it. (Cancelling a sweep is
tested from its page: tests/e2e/test_sweep_pages.py.)"""

from __future__ import annotations

import time
from typing import Any

import pytest

from builder.models import Architecture
from serving.models import ModelEndpoint
from sweeps.models import Sweep
from tests.workers.helpers import SPECS, hp, make_dataset, wait_for
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)
EPOCHS = 10


def test_a_grid_sweep_prunes_picks_on_validation_and_tests_only_the_winner(
    celery_worker: Any, alice: Any, alice_api: Any, bob_api: Any
) -> None:
    dataset = make_dataset(alice, "tabular", n=240)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    body = {
        "dataset": dataset.pk, "architectures": [arch.pk], "framework": "torch", "method": "grid", "parallel": 2,
        # Two learning rates that learn, then one too small to: it trails the finished trials from the
        # first epochs, so the median rule stops it once two trials have finished.
        "space": {"learning_rate": {"values": [0.05, 0.02, 1e-6]}},
        "hyperparameters": hp(epochs=EPOCHS, device="cpu"),
    }  # fmt: skip
    started = time.monotonic()
    response = alice_api.post("/api/sweeps/", body, format="json")
    assert response.status_code == 201, response.json()
    sweep_id = response.json()["id"]

    def ended() -> bool:
        return Sweep.objects.get(pk=sweep_id).status not in Sweep.ACTIVE

    try:
        wait_for(ended, 240, 0.5, "the sweep to end")
    except AssertionError:
        raise AssertionError(celery_worker.log()[-6000:]) from None
    took = time.monotonic() - started
    detail = alice_api.get(f"/api/sweeps/{sweep_id}/").json()
    assert detail["status"] == "finished", detail["note"]
    trials = detail["trials"]
    assert [t["params"]["learning_rate"] for t in trials] == [0.05, 0.02, 1e-6]
    statuses = [t["status"] for t in trials]
    assert statuses == ["succeeded", "succeeded", "pruned"], (statuses, trials)
    for trial in trials:
        job = TrainingJob.objects.get(pk=trial["job"])
        assert job.hyperparameters["learning_rate"] == trial["params"]["learning_rate"]
        assert trial["epochs_run"] == job.epoch == job.metrics.count()
        if trial["status"] == "pruned":
            assert trial["status_display"].startswith("Pruned") and "pruner" in job.error
            assert job.epoch < EPOCHS, "a pruned trial stops before its last epoch"
            assert trial["value"] is None and trial["last_value"] is not None
        else:
            assert trial["value"] == pytest.approx(job.metrics.order_by("epoch").last().values["val_loss"])
    # The winner: the lowest validation loss of the trials that ran out; evaluated on test, alone.
    finished = [t for t in trials if t["status"] == "succeeded"]
    best = min(finished, key=lambda t: t["value"])
    assert detail["winner"] == best["job"]
    winner = TrainingJob.objects.get(pk=best["job"])
    assert winner.evaluation["split"] == "test" and winner.evaluation["samples"] == 48
    assert detail["winner_test_evaluation"]["accuracy"] == winner.evaluation["accuracy"]
    assert "validation" in detail["note"] and "test split" in detail["note"]
    others = TrainingJob.objects.filter(sweep_trial__sweep_id=sweep_id).exclude(pk=winner.pk)
    assert others.count() == 2
    for job in others:
        assert job.evaluation == {} and not job.artifacts.filter(kind="test_predictions").exists(), job.pk
    assert winner.artifacts.filter(kind="test_predictions").exists()
    assert winner.artifacts.filter(kind="onnx").exists()
    # One action publishes it; Bob sees neither the sweep nor its actions.
    published = alice_api.post(f"/api/sweeps/{sweep_id}/publish/", {"name": "sweep-best"}, format="json")
    assert published.status_code == 201, published.json()
    assert ModelEndpoint.objects.get(owner=alice, name="sweep-best").job_id == winner.pk
    # Retrained on train + validation with its settings, for the epochs it kept: an ordinary job.
    retrain = alice_api.post(f"/api/sweeps/{sweep_id}/retrain/")
    assert retrain.status_code == 201, retrain.json()
    again = TrainingJob.objects.get(pk=retrain.json()["id"])
    assert again.hyperparameters == {**winner.hyperparameters, "epochs": EPOCHS, "patience": None}
    assert alice_api.post(f"/api/sweeps/{sweep_id}/retrain/").status_code == 409
    wait_for(lambda: TrainingJob.objects.get(pk=again.pk).status not in TrainingJob.ACTIVE, 120, 0.5, "the retrain")
    again.refresh_from_db()
    assert again.status == "succeeded", again.error
    assert again.evaluation["split"] == "test" and again.evaluation["samples"] == 48
    first = again.metrics.get(epoch=1).values
    assert "val_loss" not in first and first["samples_per_second"] > 0  # no validation rows left
    assert alice_api.get(f"/api/sweeps/{sweep_id}/").json()["retrained"] == again.pk
    assert bob_api.get(f"/api/sweeps/{sweep_id}/").status_code == 404
    assert bob_api.post(f"/api/sweeps/{sweep_id}/cancel/").status_code == 404
    assert alice_api.post(f"/api/sweeps/{sweep_id}/cancel/").status_code == 409
    print(f"sweep of 3 trials took {took:.1f}s")

