"""Cancel and retry from a job's page in a real browser, against a real worker: the page
follows the job by itself from running to cancelled, and a retry opens the new job."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.checks import check_page
from tests.workers.helpers import SPECS, hp, make_dataset, wait_for, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_cancel_a_running_job_then_retry_it_from_its_page(page: Any, sign_in: Any, alice: Any, celery_worker: Any) -> None:
    page.set_default_timeout(90_000)
    sign_in(alice)
    dataset = make_dataset(alice, "tabular", n=240)
    job = submit_job(alice, spec=SPECS["tabular"], dataset=dataset, framework="torch", hyperparameters=hp(epochs=5000))
    page.goto(f"/jobs/{job.pk}/")
    page.wait_for_function("() => Number(document.getElementById('charts').dataset.epochs || 0) >= 2")
    # The status and the curves come from two polls: the badge follows within one poll, however loaded.
    expect(page.locator("#job-live .badge")).to_have_text("Running", timeout=30_000)
    assert page.locator("#job-live progress").is_visible()
    check_page(page, "job-running")

    page.get_by_role("button", name="Cancel job").click()
    page.locator("#job-live .badge-cancelled").wait_for()  # the page reloads itself once it has finished
    assert wait_status(job, "cancelled", worker=celery_worker).status == "cancelled"
    page.get_by_role("button", name="Cancel job").wait_for(state="hidden")

    page.get_by_role("button", name="Retry as a new job").click()
    retry = wait_for(lambda: TrainingJob.objects.filter(retry_of=job).first(), 30, what="the retry")
    page.wait_for_url(f"**/jobs/{retry.pk}/")
    page.get_by_role("button", name="Cancel job").click()  # leave the shared worker free
    page.locator("#job-live .badge-cancelled").wait_for()
    assert wait_status(retry, "cancelled", worker=celery_worker).status == "cancelled"
