"""Deleting a job and an architecture from their pages in a real browser: the dialog asks
first, a refusal shows the API's own message, and a confirmed delete removes the row and its
files, then lands on the list."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture
from tests.api.conftest import add_artifact, make_job
from tests.e2e.checks import check_page
from tests.e2e.conftest import kept, requests_sent
from tests.workers.helpers import SPECS, make_dataset
from workers.models import TrainingJob

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def test_a_finished_job_deletes_from_its_page_and_a_running_one_is_refused_with_the_apis_message(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any
) -> None:
    sign_in(alice)
    dataset = make_dataset(alice, "tabular")
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    running = make_job(alice, dataset, architecture, status="running")
    page.goto(f"/jobs/{running.pk}/")
    assert not page.locator("#delete-open").is_visible()  # only a finished job offers it

    job = make_job(alice, dataset, architecture, status="succeeded")
    artifact = add_artifact(job)
    page.goto(f"/jobs/{job.pk}/")
    deletes = requests_sent(page, "DELETE")
    page.get_by_role("button", name="Delete", exact=True).click()
    check_page(page, "job-delete-dialog")
    kept(page, deletes)
    assert TrainingJob.objects.filter(pk=job.pk).exists()

    # The job starts again behind the page's back (as a stale page might see it): the API
    # refuses with 409 and the dialog says why, in the API's words.
    TrainingJob.objects.filter(pk=job.pk).update(status="running")
    browser_problems.allow(409, rf"/api/jobs/{job.pk}/$")
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("button", name="Delete for good").click()
    error = page.locator("#delete-error")
    error.wait_for()
    assert f"Job(s) {job.pk} (running) are queued or running" in error.inner_text(), error.inner_text()
    assert TrainingJob.objects.filter(pk=job.pk).exists() and (job.artifacts_dir / artifact.filename).exists()

    TrainingJob.objects.filter(pk=job.pk).update(status="succeeded")
    page.get_by_role("button", name="Delete for good").click()
    page.wait_for_url("**/jobs/")
    assert len(deletes) == 2, deletes  # the refused one and the confirmed one: none from "Keep it"
    assert not TrainingJob.objects.filter(pk=job.pk).exists()
    assert not (job.artifacts_dir / artifact.filename).exists()
    assert page.locator(f"a[href='/jobs/{job.pk}/']").count() == 0


def test_an_architecture_deletes_from_the_builder_after_its_first_save(page: Any, sign_in: Any, alice: Any) -> None:
    sign_in(alice)
    dataset = make_dataset(alice, "tabular")
    page.goto(f"/architectures/new/?dataset={dataset.pk}&preset=mlp")
    page.locator("#layer-list li").first.wait_for()
    assert not page.locator("#delete-open").is_visible()  # nothing saved, nothing to delete
    page.get_by_label("Architecture name").fill("to be deleted")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#save-state", has_text="Saved at").wait_for()
    saved = Architecture.objects.get(owner=alice, name="to be deleted")
    job = make_job(alice, dataset, saved, status="succeeded")

    page.get_by_role("button", name="Delete", exact=True).click()
    check_page(page, "architecture-delete-dialog")
    page.get_by_role("button", name="Delete for good").click()
    page.wait_for_url("**/architectures/")  # no "leave the page?" question: the draft went with it
    assert not Architecture.objects.filter(pk=saved.pk).exists()
    job.refresh_from_db()
    assert job.architecture_id is None and job.spec  # its jobs keep their frozen spec
    assert page.locator(f"a[href='/architectures/{saved.pk}/']").count() == 0
