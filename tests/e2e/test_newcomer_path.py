"""A newcomer's whole path in a real browser, for each framework: sign up, upload a CSV and
watch it upload and ingest, start the builder from the dataset with its fitted preset (an
output layer that no longer fits is flagged on its field, then fixed), save and train from the
train form, watch the curves grow, read the confusion matrix, download the ONNX file and
compare two jobs. Every page passes the accessibility audit at three widths."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.checks import check_page, row, settle, wait_valid

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

TIMEOUT_MS = 120_000


def flowers_csv(path: Path, rows: int = 150) -> Path:
    """A learnable table: four measurements, three species decided by the first two."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 4))
    species = np.array(["setosa", "versicolor", "virginica"])[np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])]
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    lines += [",".join(f"{v:.3f}" for v in x) + f",{s}" for x, s in zip(X, species, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def api(page: Any, method: str, url: str, data: Any = None) -> Any:
    """The JSON API with the browser's own session and CSRF token, as the pages call it."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.fetch(url, method=method, data=data, headers={"X-CSRFToken": token,
                                                                          "Referer": page.url})  # fmt: skip
    assert response.ok, (response.status, response.text())
    return response.json()


def sign_up(page: Any, username: str) -> None:
    page.goto("/accounts/signup/")
    check_page(page, "signup", keep_shots=True)
    page.locator("#id_username").fill(username)
    page.locator("#id_password1").fill("a-long-pass-phrase-41")
    page.locator("#id_password2").fill("a-long-pass-phrase-41")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/$"))


def upload_table(page: Any, csv_path: Path) -> int:
    page.goto("/")
    check_page(page, "dashboard-empty", keep_shots=True)
    page.get_by_role("link", name="Upload data").first.click()
    page.wait_for_url("**/datasets/upload/")
    page.get_by_label("Table (CSV)").check()
    page.get_by_label("File").set_input_files(str(csv_path))
    # The columns come from the file's own header row, read in the browser.
    target = page.get_by_label("Column to predict")
    page.wait_for_function("() => document.querySelectorAll('#id_target_column option').length === 6")
    assert target.locator("option").all_inner_texts()[1:] == [
        "sepal_length", "sepal_width", "petal_length", "petal_width", "species"]  # fmt: skip
    target.select_option("species")
    page.get_by_label("Name").fill("flowers")
    check_page(page, "dataset-upload", keep_shots=True)
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    return int(re.search(r"/datasets/(\d+)/", page.url).group(1))


def test_the_upload_bar_reports_percent_and_speed_and_a_refused_option_is_shown_on_its_field(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any, tmp_path: Path
) -> None:
    sign_in(alice)
    browser_problems.allow(400, r"/api/datasets/$")
    page.goto("/datasets/upload/")
    page.get_by_label("File").set_input_files(str(flowers_csv(tmp_path / "f.csv")))
    page.get_by_label("Name").fill("kept as typed")
    page.get_by_text("Advanced: split and seed").click()
    page.locator("#id_split").fill("0.5, 0.5, 0.5")
    # Every text the status line shows, in order: the refusal replaces the progress line at once.
    page.evaluate(
        """() => { window.statusTexts = [];
                   const line = document.getElementById('upload-status');
                   new MutationObserver(() => window.statusTexts.push(line.textContent))
                     .observe(line, {childList: true, characterData: true, subtree: true}); }"""
    )
    page.get_by_role("button", name="Upload").click()
    error = page.locator('ul[data-error-for="split"]')
    error.wait_for(state="visible")
    assert "add up to 1" in error.inner_text(), error.inner_text()  # the API's own message
    assert page.get_by_label("Name").input_value() == "kept as typed"
    statuses = page.evaluate("() => window.statusTexts")
    assert any(re.fullmatch(r"Uploading 100% \(.+ of .+\) at .+/s", text) for text in statuses), statuses
    assert statuses[-1] == "The upload was refused; see the messages above.", statuses
    assert page.locator("#upload-bar").evaluate("b => b.value") == 100


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_a_newcomer_trains_evaluates_downloads_and_compares_in_the_browser(
    page: Any, celery_worker: Any, browser_problems: Any, framework: str, tmp_path: Path
) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    sign_up(page, f"newcomer-{framework}")
    dataset_id = upload_table(page, flowers_csv(tmp_path / "flowers.csv"))

    # The dataset page follows ingestion by itself and then shows the profile.
    page.locator("#dataset-live .badge-ready").wait_for()
    assert page.get_by_role("heading", name="Columns").is_visible()
    assert page.locator("table.list td", has_text="sepal_length").count() == 1
    assert page.locator("#class-chart").is_visible()
    build = page.get_by_role("link", name="Build a model for this data")
    assert build.get_attribute("href") == f"/architectures/new/?dataset={dataset_id}"
    check_page(page, f"dataset-{framework}", keep_shots=True)

    # The builder: the preset fitted to the data, an output layer that no longer fits is
    # flagged on its units field, fixed, saved, then "Train ▸".
    browser_problems.allow(400, r"/api/architectures/(validate|codegen)/$")  # the checks' answer to the misfit
    build.click()
    page.wait_for_url(f"**/architectures/new/?dataset={dataset_id}")
    page.get_by_role("button", name="Start from mlp").click()
    wait_valid(page)
    assert row(page, "out").locator(".shape").inner_text() == "(None, 3)"
    row(page, "out").locator(".layer-toggle").click()
    units = row(page, "out").get_by_label("Units")
    units.fill("4")
    units.press("Tab")
    out_errors = row(page, "out").locator('.field[data-param="units"] .field-errors')
    out_errors.filter(has_text="The last Dense has 4 units but the dataset has 3 classes. Set its units to 3.").wait_for()
    assert units.get_attribute("aria-invalid") == "true"
    units.fill("3")
    units.press("Tab")
    wait_valid(page)
    assert out_errors.inner_text() == ""
    page.get_by_label("Architecture name").fill(f"flowers-{framework}")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#save-state").filter(has_text="Saved at").wait_for()
    architecture = int(re.search(r"/architectures/(\d+)/", page.url).group(1))
    settle(page)  # leaving with a check or the code in flight would abort it
    page.get_by_role("link", name="Train ▸").click()
    page.wait_for_url(f"**/jobs/new/?architecture={architecture}&dataset={dataset_id}")
    assert page.locator("#id_dataset").input_value() == str(dataset_id)
    check_page(page, f"job-new-{framework}", keep_shots=True)
    page.get_by_label("PyTorch" if framework == "torch" else "Keras (TensorFlow)").check()
    # A value the API refuses is explained on its own field, with the API's words.
    browser_problems.allow(400, r"/api/jobs/$")
    page.get_by_label("Batch size").fill("0")
    page.get_by_role("button", name="Start training").click()
    error = page.locator('ul[data-error-for="hyperparameters.batch_size"]')
    error.wait_for(state="visible")
    assert "greater than or equal to 1" in error.inner_text()
    page.get_by_label("Batch size").fill("16")
    page.get_by_label("Epochs").fill("40")
    # Before committing: a dry run of a few batches on the worker estimates an epoch and the memory.
    page.get_by_role("button", name="Estimate time and memory").click()
    page.locator("#estimate-result").wait_for(state="visible")
    assert "(6 batches of 16)" in page.locator("[data-estimate=epoch]").inner_text()  # 90 training rows (60% of 150)
    # The whole job as a range: early stopping's soonest end (no finished job here yet) up to all 40 epochs.
    total = page.locator("[data-estimate=total]").inner_text()
    assert re.fullmatch(r"from .+, if early stopping ends it as soon as it can \(epoch 16: patience 15 \+ 1\), up to .+ "
                        r"for 40 epochs; your finished jobs on this dataset will say how soon it usually does", total), total  # fmt: skip
    # One peak, split into the framework's runtime and the model's training, beside the validator's count.
    memory = page.locator("[data-estimate=memory]").inner_text()
    assert re.match(r"[\d.]+ MB of the process: [\d.]+ MB the framework's runtime \(once per job, whatever the model\) "
                    r"\+ [\d.]+ (KB|MB) building and training the model; the validator counts [\d.]+ KB for the "
                    r"model's own tensors at batch 16; a job also holds", memory), memory  # fmt: skip
    assert page.locator("[data-estimate=device]").inner_text() == "CPU"
    with page.expect_response(re.compile(r"/api/jobs/$")) as created:
        page.get_by_role("button", name="Start training").click()
    assert created.value.status == 201, created.value.text()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job_id = int(re.search(r"/jobs/(\d+)/", page.url).group(1))

    # The curves grow while the job runs, without a reload (the marker would vanish).
    page.evaluate("() => { window.sameDocument = true; }")
    page.wait_for_function("() => Number(document.getElementById('charts').dataset.epochs || 0) >= 1")
    assert page.evaluate("() => window.sameDocument") is True
    assert page.locator("canvas[data-metric=loss]").count() == 1
    assert page.locator("#log li", has_text="epoch 1").count() >= 1

    # When it finishes the page shows the evaluation by itself.
    page.locator("h2", has_text="Test-set evaluation").wait_for()
    assert page.locator("#job-live .badge").inner_text() == "Succeeded"
    assert page.locator("table.matrix th", has_text="true versicolor").count() == 1
    cells = page.locator(".matrix .cell")
    assert cells.count() == 9
    counts = [int(c) for c in cells.all_inner_texts()]
    assert sum(counts) == int(page.locator(".facts div", has_text="Test samples").locator("dd").inner_text())
    chosen = next((i for i, c in enumerate(counts) if c and i % 4), 0)  # a mistake if there is one
    cells.nth(chosen).click()
    assert re.match(r"True \w+, predicted \w+: \d+ test example", page.locator("#examples h4").inner_text())
    # Its examples are the table's own rows, read from the upload.
    # One table, a row per example and a column per uploaded column, named with the kind's unit.
    page.wait_for_function(f"() => document.querySelectorAll('#examples tbody tr').length === {counts[chosen]}")
    headers = page.locator("#examples thead th").all_text_contents()
    assert headers[0] == "row" and headers[-1] == "sure" and {"sepal_length", "species"} <= set(headers)
    assert re.fullmatch(r"\d+ .+ [\d.]+%", page.locator("#examples tbody tr").first.inner_text().replace("\t", " "))
    # At a phone's width every value stays on one line: the table scrolls sideways in its box.
    page.set_viewport_size({"width": 390, "height": 844})
    heights = page.locator("#examples tbody td").evaluate_all("cells => cells.map(c => c.getClientRects()[0].height)")
    line = page.locator("#examples tbody td").first.evaluate("c => parseFloat(getComputedStyle(c).lineHeight)")
    assert max(heights) < 2 * line, (max(heights), line)
    box = page.locator("#examples .table-wrap")
    assert box.evaluate("b => b.scrollWidth > b.clientWidth") and box.get_attribute("tabindex") == "0"
    page.set_viewport_size({"width": 1280, "height": 900})
    check_page(page, f"job-finished-{framework}", keep_shots=True)

    # The ONNX file downloads, and its bytes are the ones the page's sha256 names.
    onnx = page.locator(".artifacts li", has_text="model.onnx")
    with page.expect_download() as info:
        onnx.get_by_role("link", name="model.onnx").click()
    data = Path(info.value.path()).read_bytes()
    assert len(data) > 100
    assert f"sha256 {hashlib.sha256(data).hexdigest()}" in onnx.inner_text()

    # A second job with another learning rate, then both compared from the jobs list.
    second = api(page, "POST", "/api/jobs/", {"architecture": architecture, "dataset": dataset_id,
                                              "framework": framework,
                                              "hyperparameters": {"epochs": 2, "learning_rate": 0.01}})["id"]  # fmt: skip
    page.goto("/jobs/")
    page.locator(f"tr[data-live-url='/api/jobs/{second}/'] .badge-succeeded").wait_for()
    check_page(page, f"jobs-{framework}", keep_shots=True)
    page.get_by_label(f"Compare job {job_id}").check()
    page.get_by_label(f"Compare job {second}").check()
    page.get_by_role("button", name="Compare the ticked jobs").click()
    page.wait_for_url(re.compile(r"/jobs/compare/\?ids="))
    page.locator("#compare-charts canvas[data-metric=loss]").wait_for()
    assert page.locator("tr[data-row=learning_rate] .badge", has_text="differs").count() == 1
    assert page.locator("tr[data-row=epochs] .badge", has_text="differs").count() == 1
    assert page.locator("tr[data-row=framework] .badge").count() == 0
    check_page(page, f"compare-{framework}", keep_shots=True)
