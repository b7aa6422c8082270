"""A sweep from the browser against a real worker: the builder's "Sweep" opens the form for its
architecture, which starts it; its page fills its trials table by itself, and its cancel button
cancels every trial; Bob gets a 404. The list page starts one for a chosen architecture."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from builder.models import Architecture
from sweeps.models import Sweep
from tests.e2e.checks import check_page
from tests.workers.helpers import SPECS, make_dataset, wait_for
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_a_sweep_watch_its_trials_and_cancel_it(page: Any, sign_in: Any, alice: Any, bob: Any, client: Any,
                                                        celery_worker: Any, browser_problems: Any) -> None:  # fmt: skip
    page.set_default_timeout(60_000)
    browser_problems.allow(400, "/api/sweeps/")  # the bad range, on purpose
    sign_in(alice)
    dataset = make_dataset(alice, "tabular", n=120)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"], dataset=dataset)
    page.goto(f"/architectures/{arch.pk}/")  # the builder: "Sweep" beside "Train"
    page.get_by_role("link", name="Sweep ▸").click()
    page.wait_for_url(f"**/sweeps/new/?architecture={arch.pk}&dataset={dataset.pk}")
    expect(page.get_by_label("Dataset")).to_have_value(str(dataset.pk))
    check_page(page, "sweep-new")
    # A bad range comes back on its own row.
    page.get_by_label("PyTorch").check()
    page.get_by_label("Learning rate: low").fill("0.5")
    page.get_by_label("Learning rate: high").fill("0.1")
    page.get_by_role("button", name="Start the sweep").click()
    expect(page.locator('[data-error-for="space.learning_rate"]')).to_contain_text("must be below high")
    assert not Sweep.objects.exists()

    page.get_by_label("Learning rate: low").fill("0.001")
    page.get_by_label("Vary Batch size").uncheck()
    page.get_by_label("Vary h (Dense): units").check()
    page.get_by_label("h (Dense): units: values").fill("8, 16")
    page.get_by_label("Epochs (fixed)").fill("5000")  # trials that run until they are cancelled
    page.get_by_label("Trials at most").fill("3")
    page.get_by_role("button", name="Start the sweep").click()
    page.wait_for_url("**/sweeps/*/")
    sweep = Sweep.objects.get(owner=alice)
    assert set(sweep.space) == {"learning_rate", "layers.h.units"} and sweep.hyperparameters["epochs"] == 5000
    # The table fills by itself: two trials (parallel 2), one running.
    # (The worker takes the sweep's first step, then its first trial, after whatever it was doing.)
    expect(page.locator("#trials tbody tr[data-trial]")).to_have_count(2, timeout=90_000)
    expect(page.locator("#trials .badge-running")).to_have_count(1, timeout=90_000)
    check_page(page, "sweep-running")
    page.get_by_role("button", name="Cancel sweep and its trials").click()
    expect(page.locator("#sweep-live [data-role=status]")).to_have_text("Cancelled", timeout=30_000)
    jobs = TrainingJob.objects.filter(sweep_trial__sweep=sweep)
    wait_for(lambda: set(jobs.values_list("status", flat=True)) == {"cancelled"}, 30, 0.2, "every trial cancelled")
    expect(page.locator("#trials .badge-cancelled")).to_have_count(2, timeout=30_000)
    page.goto("/sweeps/")
    expect(page.get_by_role("link", name="tiny on tiny tabular")).to_be_visible()
    page.get_by_label("Architecture").select_option(str(arch.pk))
    page.get_by_role("button", name="Choose what varies").click()
    page.wait_for_url(f"**/sweeps/new/?architecture={arch.pk}")
    client.force_login(bob)
    assert client.get(f"/sweeps/{sweep.pk}/").status_code == 404
    assert client.get(f"/sweeps/new/?architecture={arch.pk}").status_code == 404


def test_a_finished_sweeps_page_shows_the_winner_sorts_and_publishes(page: Any, sign_in: Any, alice: Any) -> None:
    from serving.models import ModelEndpoint
    from sweeps.models import SweepTrial
    from tests.api.conftest import add_artifact, make_job
    from workers.models import Metric

    sign_in(alice)
    dataset = make_dataset(alice, "tabular", n=60)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    sweep = Sweep.objects.create(
        owner=alice, dataset=dataset, framework="torch", status="finished", max_trials=3, method="grid",
        architectures=[{"id": arch.pk, "name": "tiny", "spec": arch.spec}],
        space={"learning_rate": {"values": [0.05, 0.02, 1e-6]}}, note="Trial 1 has the best val_loss.",
    )  # fmt: skip
    rows = [(0.05, "succeeded", [0.9, 0.5, 0.4]), (0.02, "succeeded", [0.8, 0.4, 0.3]), (1e-6, "pruned", [1.1, 1.1])]
    jobs = []
    for number, (rate, status, curve) in enumerate(rows):
        job = make_job(alice, dataset, arch, status=status, epoch=len(curve))
        for epoch, value in enumerate(curve, start=1):
            Metric.objects.create(job=job, epoch=epoch, values={"loss": value, "val_loss": value})
        SweepTrial.objects.create(sweep=sweep, number=number, params={"learning_rate": rate}, job=job,
                                  value=curve[-1] if status == "succeeded" else None)  # fmt: skip
        jobs.append(job)
    winner = jobs[1]
    winner.evaluation = {"split": "test", "task": "classification", "samples": 12, "accuracy": 0.75, "macro_f1": 0.7}
    winner.save()
    add_artifact(winner)
    Sweep.objects.filter(pk=sweep.pk).update(winner=winner)
    page.goto(f"/sweeps/{sweep.pk}/")
    expect(page.locator("#trials tbody tr[data-trial]")).to_have_count(3)
    expect(page.locator("#winner-box")).to_contain_text("It alone is evaluated on the test split")
    expect(page.locator("#winner-test")).to_contain_text("0.75")
    expect(page.locator("#trials .badge-pruned")).to_have_text("Pruned (stopped early by its sweep)")
    page.get_by_role("button", name="val_loss (validation)").click()  # best first
    expect(page.locator("#trials tbody tr[data-trial]").first).to_have_attribute("data-trial", "1")
    page.wait_for_function("() => Chart.getChart('best-curves')?.data.datasets.length === 3")
    check_page(page, "sweep-finished")
    page.get_by_label("Publish the winner as a named model endpoint").fill("sweep-best")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#publish-status")).to_contain_text("/api/models/sweep-best/predict/")
    assert ModelEndpoint.objects.get(owner=alice, name="sweep-best").job_id == winner.pk
    page.get_by_role("button", name="Retrain on training + validation rows").click()
    expect(page.locator("#retrain-status")).to_contain_text("Retrained as job #")
    again = Sweep.objects.get(pk=sweep.pk).retrained
    assert again.hyperparameters["epochs"] == 3 and again.hyperparameters["patience"] is None
    expect(page.get_by_role("link", name=f"job #{again.pk}")).to_be_visible()
