"""The job page and the compare page show what simple models get on the same test rows, and
the job page says plainly when the model does worse than the linear baseline.

Real jobs from a real worker: one epoch at a learning rate of 1e-6 leaves the network where
its seeded initial weights put it (a third of the three classes or so), while logistic
regression separates classes that are a linear function of the inputs; another job, trained
longer, is warned exactly when its accuracy is below the linear model's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.checks import check_page
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)
WARNING = "This model does worse than the linear baseline"


def test_the_job_page_and_compare_page_show_the_baselines(
    page: Any, sign_in: Any, alice: Any, trainer_without_export: Any
) -> None:
    dataset = make_dataset(alice, "tabular")
    untrained = submit_job(alice, spec=SPECS["tabular"], dataset=dataset, framework="torch",
                           hyperparameters=hp(epochs=1, learning_rate=1e-6))  # fmt: skip
    trained = submit_job(alice, spec=SPECS["tabular"], dataset=dataset, framework="torch",
                         hyperparameters=hp(epochs=30, learning_rate=0.05))  # fmt: skip
    for job in (untrained, trained):
        job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=trainer_without_export)
        assert job.status == "succeeded", job.error
    untrained.refresh_from_db()
    trained.refresh_from_db()
    linear = untrained.evaluation["baselines"]["models"][1]
    assert untrained.evaluation["accuracy"] < linear["accuracy"], (untrained.evaluation["accuracy"], linear)
    rows = untrained.evaluation["samples"]
    sign_in(alice)

    page.goto(f"/jobs/{untrained.pk}/")
    lines = page.locator("#baselines li")
    assert lines.count() == 2
    majority = untrained.evaluation["baselines"]["models"][0]
    first = f"The most common class ({majority['class']}), on the same {rows} test rows: accuracy "
    assert lines.nth(0).inner_text().startswith(first)
    assert lines.nth(1).inner_text() == (
        f"Logistic regression on the standardised inputs, on the same {rows} test rows: "
        f"accuracy {linear['accuracy']:.4g}, macro F1 {linear['macro_f1']:.4g}"
    )
    warning = page.locator("#baseline-warning")
    assert warning.is_visible()
    text = warning.inner_text()
    assert WARNING in text and f"{untrained.evaluation['accuracy']:.4g} against {linear['accuracy']:.4g}" in text
    assert "more epochs" in text and "smaller learning rate" in text and "fitted preset" in text
    check_page(page, "job-baselines-worse")  # its confusion matrix has mid-share cells: their contrast too

    page.goto(f"/jobs/{trained.pk}/")
    assert page.locator("#baselines li").count() == 2
    worse = trained.evaluation["accuracy"] < trained.evaluation["baselines"]["models"][1]["accuracy"]
    assert (page.locator("#baseline-warning").count() == 1) == worse == (WARNING in page.content())
    check_page(page, "job-baselines")

    page.goto(f"/jobs/compare/?ids={untrained.pk},{trained.pk}")
    for name, model in (("majority", majority), ("linear", linear)):
        row = page.locator(f'tr[data-row="test: baseline {name}: accuracy"]')
        assert row.count() == 1, name
        assert f"{model['accuracy']:.4g}" in row.inner_text()
    check_page(page, "compare-baselines")
