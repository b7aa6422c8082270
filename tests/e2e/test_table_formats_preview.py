"""The upload page reads a table the way the server will: a semicolon Windows-1252 export, a
UTF-16 tab-separated file, a Parquet file and a chosen sheet of an Excel workbook each fill
the column menu with the columns the ready dataset has, and the page says how the file is read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from builder.models import Dataset
from tests.api.test_table_formats import COLUMNS, csv_text, parquet_bytes, xlsx_bytes
from tests.datasets.test_ingest_task import wait_until_settled
from tests.e2e.conftest import audit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

FILES = [
    # (file name, bytes, what the page says it reads, what the dataset page says)
    ("prix.csv", csv_text(";", ",").encode("cp1252"),
     "separator semicolon (;), encoding Windows-1252, decimal comma (,)", "Windows-1252"),
    ("mesures.txt", csv_text("\t", ",").encode("utf-16"), "separator tab, encoding UTF-16, decimal comma (,)", "UTF-16"),
    ("table.parquet", parquet_bytes(), "Read as a Parquet file", "Parquet"),
]  # fmt: skip


def offered(page: Any) -> list[str]:
    return page.locator("#id_target_column option").all_text_contents()[1:]  # after "The last column"


def upload_and_settle(page: Any, alice: Any) -> Dataset:
    page.get_by_label("Column to predict").select_option("Classe")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset = wait_until_settled(Dataset.objects.filter(owner=alice).latest("created").pk)
    assert dataset.status == "ready", dataset.error
    return dataset


def test_the_preview_and_the_dataset_read_each_file_alike(
    page: Any, sign_in: Any, alice: Any, celery_worker: Any, tmp_path: Path
) -> None:
    sign_in(alice)
    for name, content, reading, shown in FILES:
        path = tmp_path / name
        path.write_bytes(content)
        page.goto("/datasets/upload/")
        page.get_by_label("File").set_input_files(str(path))
        page.wait_for_function("() => document.querySelectorAll('#id_target_column option').length > 1")
        menu = offered(page)
        assert menu == COLUMNS, name
        assert reading in page.locator("#read-as").text_content()
        dataset = upload_and_settle(page, alice)
        assert [c["name"] for c in dataset.profile["columns"]] + [dataset.profile["target"]["column"]] == menu
        assert shown in page.locator("#file-format").text_content()
        assert dataset.profile["columns"][1]["max"] == 47.5  # decimal commas read as numbers


def test_a_chosen_sheet_of_a_workbook_fills_the_menu_and_is_the_one_uploaded(
    page: Any, sign_in: Any, alice: Any, celery_worker: Any, tmp_path: Path
) -> None:
    sign_in(alice)
    path = tmp_path / "classeur.xlsx"
    path.write_bytes(xlsx_bytes())
    page.goto("/datasets/upload/")
    page.get_by_label("File").set_input_files(str(path))
    page.wait_for_function("() => document.querySelectorAll('#id_sheet option').length === 3")
    assert offered(page) == ["Written by hand", "not the data"]  # the first sheet, as the server reads it
    page.get_by_label("Sheet").select_option("Données")
    page.wait_for_function("() => document.querySelectorAll('#id_target_column option').length === 5")
    assert offered(page) == COLUMNS
    assert "Excel workbook, sheet Données" in page.locator("#read-as").text_content()
    assert audit(page) == []  # the reading's controls are labelled and reachable
    dataset = upload_and_settle(page, alice)
    assert dataset.options["sheet"] == "Données"
    assert [c["name"] for c in dataset.profile["columns"]] + [dataset.profile["target"]["column"]] == COLUMNS
