"""A sweep's schedule, one step at a time in this process: trials wait for the owner's job limit
instead of being refused, and a spent time budget starts nothing more and says why it ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from builder.models import Architecture
from sweeps import scheduler, services
from sweeps.models import Sweep
from tests.workers.helpers import SPECS, hp, make_dataset
from workers.models import TrainingJob
from workers.services import cancel_job, submit_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sweep_of(alice: Any, private_queue: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    # This test takes every step itself: the step a new sweep sends would otherwise be run at the
    # same time by a session worker that an earlier test started (it reads the default queue).
    monkeypatch.setattr(services, "send_step", lambda sweep_id: None)
    dataset = make_dataset(alice, "tabular", n=60)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])

    def make(**options: Any) -> Sweep:
        return services.create_sweep(alice, dataset=dataset, architectures=[arch], framework="torch",
                                     space={"learning_rate": {"low": 0.001, "high": 0.1, "log": True}},
                                     hyperparameters=hp(), **options)  # fmt: skip

    return make


def test_trials_wait_for_the_job_limit_and_are_never_refused(alice: Any, sweep_of: Any, settings: Any) -> None:
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 3
    sweep = sweep_of(parallel=3, max_trials=4)
    other = submit_job(alice, spec=SPECS["tabular"], dataset=sweep.dataset, framework="torch", hyperparameters=hp())
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = 2  # one of the two places is the other job's
    scheduler.step(sweep.pk)
    trials = TrainingJob.objects.filter(sweep_trial__sweep=sweep)
    assert trials.count() == 1 and not sweep.trials.exclude(error="").exists()
    scheduler.step(sweep.pk)  # nothing has ended: the limit is still full
    assert trials.count() == 1
    cancel_job(other)
    scheduler.step(sweep.pk)
    assert trials.count() == 2 and set(trials.values_list("status", flat=True)) == {"queued"}
    # The trials' settings come from the space, each its own.
    rates = [t.hyperparameters["learning_rate"] for t in trials]
    assert len(set(rates)) == 2 and all(0.001 <= r <= 0.1 for r in rates)
    assert Sweep.objects.get(pk=sweep.pk).status == "running"


def test_a_spent_time_budget_starts_nothing_and_says_why(sweep_of: Any) -> None:
    sweep = sweep_of(max_seconds=60)
    Sweep.objects.filter(pk=sweep.pk).update(created=timezone.now() - timedelta(seconds=61))
    scheduler.step(sweep.pk)
    sweep.refresh_from_db()
    assert not sweep.trials.exists()
    assert sweep.status == "failed" and "time budget (60 s) ran out" in sweep.note and "no trial succeeded" in sweep.note
