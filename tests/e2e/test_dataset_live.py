"""A dataset's page while it is being ingested: it asks the server to hold its read until the
ingestion ends (?wait=) and shows the outcome as soon as the row has it, without a reload by hand."""

from __future__ import annotations

import re
from typing import Any

import pytest

from builder.models import Dataset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def test_the_dataset_page_shows_the_outcome_when_ingestion_ends(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any
) -> None:
    dataset = Dataset.objects.create(owner=alice, name="table", kind="tabular", status="processing", sha256="1" * 64,
                                     size_bytes=10)  # fmt: skip
    sign_in(alice)
    held = re.compile(rf"/api/datasets/{dataset.pk}/\?wait=25$")
    with page.expect_request(held):  # the page's first read, held by the server
        page.goto(f"/datasets/{dataset.pk}/")
    assert page.locator("#dataset-live").get_attribute("data-status") == "processing"
    Dataset.objects.filter(pk=dataset.pk).update(status="failed", error="The file has no data rows.")
    # The held read answers with the change and the page reloads to show it.
    page.get_by_role("alert").filter(has_text="Ingestion failed: The file has no data rows.").wait_for(timeout=15_000)
    assert page.locator("#dataset-live").get_attribute("data-status") == "failed"
