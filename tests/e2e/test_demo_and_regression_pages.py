"""The dashboard's empty state leads to a demo (saying at once that it is being made, and
that it is ready once it is); the dashboard and the image dataset's page follow ingestion by
themselves and show sample thumbnails; a regression job's page draws
its residuals. Real browser, real worker."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from builder.models import Dataset
from tests.api.conftest import make_job
from tests.e2e.checks import check_page
from tests.workers.helpers import make_dataset

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def test_start_from_the_digits_demo_and_see_its_samples(page: Any, sign_in: Any, alice: Any, celery_worker: Any) -> None:
    page.set_default_timeout(60_000)
    sign_in(alice)
    page.goto("/")
    assert page.get_by_role("link", name="Upload data").first.is_visible()
    # Making the demo can take the server seconds: the page says so at once. What the status
    # line shows is reported to the test as it changes, while the browser holds the request.
    shown: list[Any] = []
    page.expose_function("reportDemoStatus", lambda value: shown.append(value))
    page.evaluate("""() => { const s = document.querySelector('.demo-status');
        new MutationObserver(() => reportDemoStatus([s.textContent.trim(), s.querySelector('progress').hidden,
            [...s.closest('form').querySelectorAll('button')].map(b => b.getAttribute('aria-disabled'))]))
          .observe(s, {subtree: true, childList: true, characterData: true, attributes: true}); }""")
    held: list[Any] = []
    page.route("**/datasets/demo/", lambda route: held.append(route))
    page.get_by_role("button", name="Start from Handwritten digits").click(no_wait_after=True)
    while not (held and shown and shown[-1][1] is False):
        page.wait_for_timeout(50)
    assert shown[-1] == ["Preparing Handwritten digits (demo)… this takes a few seconds.", False, ["true"] * 3], shown
    with page.expect_navigation():
        held[0].continue_()
    dataset = Dataset.objects.get(owner=alice)
    row = page.locator(f"li[data-live-url='/api/datasets/{dataset.pk}/']")
    row.locator(".badge-ready").wait_for()  # the dashboard follows ingestion without a reload
    # "it is being prepared" does not stay beside the Ready badge.
    expect(page.locator(".messages")).to_have_text("Handwritten digits (demo) is ready.")
    check_page(page, "dashboard")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/datasets/{dataset.pk}/")
    thumbs = page.locator(".thumbs img")
    assert thumbs.count() >= 10
    # Every thumbnail really loaded (a broken one has no natural width).
    page.wait_for_function("() => [...document.querySelectorAll('.thumbs img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator(".facts", has_text="Images").count() == 1
    check_page(page, "dataset-images")


def test_a_regression_job_page_draws_its_residuals(page: Any, sign_in: Any, alice: Any) -> None:
    sign_in(alice)
    dataset = make_dataset(alice, "regression")
    residuals = [{"id": i, "true": float(i), "predicted": i + 0.5, "residual": -0.5} for i in range(20)]
    job = make_job(alice, dataset, status="succeeded", evaluation={
        "task": "regression", "samples": 20, "loss": 0.25, "mae": 0.5, "rmse": 0.5, "r2": 0.97,
        "residuals": residuals, "residual_histogram": {"counts": [20], "edges": [-0.5, -0.5]}})  # fmt: skip
    page.goto(f"/jobs/{job.pk}/")
    assert page.locator(".facts div", has_text="RMSE").locator("dd").inner_text() == "0.5"
    page.wait_for_function("() => window.Chart && Chart.getChart('residual-chart')?.data.datasets[0].data.length === 20")
    check_page(page, "job-regression")
