"""Sweeps in the admin: listed with their status, each trial's status in words, and a cancel action
that cancels the sweep's queued trials with it."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture
from sweeps.models import Sweep, SweepTrial
from tests.api.conftest import make_job
from tests.workers.helpers import SPECS, make_dataset
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db


def test_sweeps_list_show_trials_in_words_and_cancel(admin_client: Any, alice: Any) -> None:
    dataset = make_dataset(alice, "tabular", n=60)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    sweep = Sweep.objects.create(owner=alice, dataset=dataset, framework="torch", name="wine lr",
                                 architectures=[{"id": arch.pk, "name": "tiny", "spec": arch.spec}],
                                 space={"learning_rate": {"values": [0.05, 1e-6]}})  # fmt: skip
    pruned, queued = make_job(alice, dataset, arch, status="pruned", epoch=2), make_job(alice, dataset, arch)
    SweepTrial.objects.create(sweep=sweep, number=0, params={"learning_rate": 1e-6}, job=pruned)
    SweepTrial.objects.create(sweep=sweep, number=1, params={"learning_rate": 0.05}, job=queued)
    listing = admin_client.get("/admin/sweeps/sweep/").content.decode()
    assert "wine lr" in listing and "Running" in listing
    page = admin_client.get(f"/admin/sweeps/sweep/{sweep.pk}/change/").content.decode()
    assert "Pruned (stopped early by its sweep)" in page and f"/admin/workers/trainingjob/{pruned.pk}/change/" in page
    done = admin_client.post("/admin/sweeps/sweep/", {"action": "cancel_sweeps", "_selected_action": [sweep.pk]},
                             follow=True).content.decode()  # fmt: skip
    assert "Cancelled 1 sweep(s)." in done
    assert Sweep.objects.get(pk=sweep.pk).status == "cancelled"
    assert TrainingJob.objects.get(pk=queued.pk).status == "cancelled"
    assert TrainingJob.objects.get(pk=pruned.pk).status == "pruned"
    assert "pruned" in admin_client.get("/admin/workers/trainingjob/?status=pruned").content.decode()
