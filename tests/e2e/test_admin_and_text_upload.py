"""The job admin fits 1280 px with a long job list and shows a job's metrics as one table;
a text CSV's upload form offers its own text and label columns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from builder.models import Dataset
from tests.api.conftest import add_artifact, make_job
from tests.workers.helpers import make_dataset
from workers.models import Metric

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def test_the_job_admin_fits_1280_px_and_tables_the_metrics(page: Any, sign_in: Any, admin_user: Any, alice: Any) -> None:
    dataset = make_dataset(alice, "tabular")
    jobs = [make_job(alice, dataset, status="succeeded", device_name="GPU: NVIDIA H200 141GB HBM3e",
                     worker_host="training@a-rather-long-worker-host-name.example.org") for _ in range(30)]  # fmt: skip
    for epoch in range(1, 41):
        Metric.objects.create(job=jobs[0], epoch=epoch, step=epoch, values={"loss": 1 / epoch, "val_loss": 1.1 / epoch,
                                                                           "accuracy": 0.5, "val_accuracy": 0.5})  # fmt: skip
    add_artifact(jobs[0])
    sign_in(admin_user)
    page.goto("/admin/workers/trainingjob/")
    assert page.locator("#result_list tbody tr").count() == 30
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the job list scrolls sideways by {overflow}px at 1280 px"
    page.goto(f"/admin/workers/trainingjob/{jobs[0].pk}/change/")
    table = page.locator(".field-metrics_table table")
    assert table.locator("tbody tr").count() == 40
    assert table.locator("thead th").all_text_contents() == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    with page.expect_download() as info:
        page.locator(".field-downloads a", has_text="model.onnx").click()
    assert Path(info.value.path()).read_bytes() == b"onnx-bytes"


def test_a_text_csv_offers_its_own_text_and_label_columns(page: Any, sign_in: Any, alice: Any, tmp_path: Path) -> None:
    sign_in(alice)
    csv = tmp_path / "reviews.csv"
    csv.write_text("id,label,text\n" + "".join(f"{i},{'pos' if i % 2 else 'neg'},a review number {i}\n" for i in range(40)))
    page.goto("/datasets/upload/")
    page.get_by_label("Text classification (CSV)").check()
    assert page.get_by_label("Column to predict").is_hidden()
    page.get_by_label("File").set_input_files(str(csv))
    page.wait_for_function("() => document.querySelectorAll('#id_text_column option').length === 3")
    assert page.get_by_label("Text column").input_value() == "text"
    assert page.get_by_label("Label column").input_value() == "label"
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset = Dataset.objects.get(owner=alice)
    assert dataset.kind == "text" and dataset.options["text_column"] == "text" and dataset.options["label_column"] == "label"


def test_an_image_zip_uploads_from_the_form(page: Any, sign_in: Any, alice: Any, tmp_path: Path) -> None:
    import io
    import zipfile

    from PIL import Image

    archive = tmp_path / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for label, shade in (("dark", 30), ("light", 220)):
            for i in range(4):
                buffer = io.BytesIO()
                Image.new("L", (12, 12), shade + i).save(buffer, format="PNG")
                zf.writestr(f"{label}/{i}.png", buffer.getvalue())
    sign_in(alice)
    page.goto("/datasets/upload/")
    page.get_by_label("Images (zip of class folders)").check()
    assert page.get_by_label("File").get_attribute("accept") == ".zip,application/zip"
    assert page.get_by_label("Column to predict").is_hidden() and page.get_by_label("Text column").is_hidden()
    page.get_by_label("File").set_input_files(str(archive))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset = Dataset.objects.get(owner=alice)
    assert dataset.kind == "images" and dataset.name == "shapes.zip" and dataset.options.get("target_column") is None
