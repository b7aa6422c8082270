"""User text in a real browser: a dataset, column and class named like an HTML injection is
shown as text on every page (no script runs, no element is made), and the dataset can be
deleted from its page after a confirmation. Also the site's 404 page, audited."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from builder.models import Dataset
from tests.e2e.checks import check_page
from tests.e2e.conftest import kept, requests_sent

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

HOSTILE = "<img src=x onerror=alert(1)>"


def hostile_csv(path: Path) -> Path:
    rows = ["size,colour," + HOSTILE.replace(",", "") + ",label"]
    for i in range(60):
        rows.append(f"{i % 7},{'red' if i % 2 else 'blue'},{i % 5},{HOSTILE if i % 3 == 0 else 'plain' + str(i % 3)}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_hostile_names_are_text_everywhere_and_the_dataset_deletes_after_a_confirmation(
    page: Any, sign_in: Any, alice: Any, celery_worker: Any, browser_problems: Any, tmp_path: Path
) -> None:
    page.set_default_timeout(90_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(alice)
    page.goto("/datasets/upload/")
    page.get_by_label("File").set_input_files(str(hostile_csv(tmp_path / "h.csv")))
    page.wait_for_function("() => document.querySelectorAll('#id_target_column option').length === 5")
    # The header's own text, offered as an option's text, not parsed as HTML.
    assert HOSTILE in page.get_by_label("Column to predict").locator("option").all_inner_texts()
    page.get_by_label("Column to predict").select_option("label")
    page.get_by_label("Name").fill(HOSTILE)
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset_id = int(re.search(r"/datasets/(\d+)/", page.url).group(1))
    page.locator("#dataset-live .badge-ready").wait_for()

    for url in ("/", "/datasets/", f"/datasets/{dataset_id}/"):
        page.goto(url)
        assert page.get_by_text(HOSTILE).first.is_visible(), url
        assert page.locator("img[src=x]").count() == 0, url
    assert page.get_by_role("heading", level=1).inner_text() == HOSTILE
    columns = page.locator("section", has=page.get_by_role("heading", name="Columns")).inner_text()
    assert HOSTILE in columns and "size" in columns  # the column names in the profile
    check_page(page, "dataset-hostile")

    # Delete: the dialog asks first; keeping it changes nothing, confirming removes it.
    deletes = requests_sent(page, "DELETE")
    page.get_by_role("button", name="Delete").click()
    kept(page, deletes)
    assert Dataset.objects.filter(pk=dataset_id).exists()
    page.get_by_role("button", name="Delete").click()
    check_page(page, "dataset-delete-dialog")
    page.get_by_role("button", name="Delete for good").click()
    page.wait_for_url("**/datasets/")
    assert not Dataset.objects.filter(pk=dataset_id).exists()
    assert len(deletes) == 1 and f"/api/datasets/{dataset_id}/" in deletes[0], deletes  # the confirmed one only
    assert dialogs == []  # no alert ever ran

    browser_problems.allow(404, rf"/datasets/{dataset_id}/$")
    page.goto(f"/datasets/{dataset_id}/")
    assert page.get_by_role("heading", level=1).inner_text() == "This page does not exist"
    check_page(page, "not-found")
