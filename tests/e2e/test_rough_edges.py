"""Rough edges a newcomer met in the browser, each checked where it was seen: jobs carry the
name the person saved (the spec's own name as a detail) on the dashboard, the lists, the job
page, the comparison and the admin; the comparison marks "differs" only where the shown values
differ; a running job's page shows its start time, logs each status once and puts the curves
and results before its folded settings; the log-in page says what Layerloom is and names the
demo account; a dataset that jobs use is deleted with them from its dialog; a saved
architecture reopens with its dataset; the builder's palette is compact and comes after the
layers on a phone; the predict page's curl box is reachable from the keyboard; the admin has
an icon and /favicon.ico answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from builder.models import Architecture, Dataset
from builder.spec import presets
from serving.sessions import CACHE
from tests.api.conftest import add_artifact, make_job
from tests.e2e.checks import check_page, row, settle, wait_valid
from tests.e2e.conftest import audit
from tests.serving.helpers import TABLE_DOC, onnx_job
from tests.workers.helpers import make_dataset
from workers.models import Metric, TrainingJob

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def contrast(foreground: str, background: str) -> float:
    """WCAG's contrast ratio of two computed colours like "rgb(29, 35, 48)"."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_jobs_carry_the_saved_name_compare_what_is_shown_and_the_running_page_reads_well(
    page: Any, sign_in: Any, alice: Any, admin_user: Any
) -> None:
    dataset = make_dataset(alice, "tabular")
    saved = Architecture.objects.create(owner=alice, name="mlp for wine", spec=presets()["mlp"], dataset=dataset)
    done = []
    for value in (0.94441, 0.94442):  # both read 0.9444
        job = make_job(alice, dataset, saved, status="succeeded", epoch=2, evaluation={
            "task": "classification", "samples": 48, "accuracy": 0.9, "macro_f1": 0.9, "loss": 0.3})  # fmt: skip
        Metric.objects.create(job=job, epoch=2, values={"val_accuracy": value, "loss": 0.1 * len(done) + 0.2})
        done.append(job)
    running = make_job(alice, dataset, saved)  # queued when the page opens
    sign_in(alice)

    page.goto("/")
    link = page.get_by_role("link", name=f"Job #{running.pk}: mlp for wine on {dataset.name}")
    assert link.is_visible()
    assert "(spec mlp)" in page.locator(f"li[data-live-url='/api/jobs/{running.pk}/']").inner_text()
    page.goto("/jobs/")
    assert page.locator(f"tr[data-live-url='/api/jobs/{running.pk}/']").get_by_text("mlp for wine on").count() == 1
    check_page(page, "jobs-named")

    page.goto(f"/jobs/compare/?ids={done[0].pk},{done[1].pk}")
    assert page.locator(".legend li").first.inner_text().startswith(f"#{done[0].pk} mlp for wine (spec mlp)")
    assert page.locator('tr[data-row="architecture"] td').all_inner_texts() == ["mlp for wine"] * 2
    assert page.locator('tr[data-row="spec name"] td').all_inner_texts() == ["mlp"] * 2
    accuracy = page.locator('tr[data-row="last epoch: val_accuracy"]')
    assert accuracy.locator("td").all_inner_texts() == ["0.9444", "0.9444"]
    assert accuracy.locator(".badge").count() == 0  # equal as shown: no "differs"
    assert page.locator('tr[data-row="last epoch: loss"] .badge', has_text="differs").count() == 1

    # The job page: the saved name; the start time and each status once while it runs. The page
    # is drawn while the job is queued and its first poll (held by the browser meanwhile) finds
    # it running: the status changed before the page's first look.
    held: list[Any] = []
    metrics = re.compile(r"/api/jobs/\d+/metrics/")
    page.route(metrics, lambda route: held.append(route))
    page.goto(f"/jobs/{running.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Job #{running.pk}: mlp for wine on {dataset.name}"
    assert page.locator("[data-role=architecture]").inner_text() == "mlp for wine (spec mlp)"
    assert page.locator("[data-role=started]").inner_text() == "—"
    while not held:
        page.wait_for_timeout(50)
    TrainingJob.objects.filter(pk=running.pk).update(status="running", started_at=timezone.now(), total_epochs=2)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if metrics.search(r.url) else None)
    held[0].continue_()
    page.unroute(metrics)  # the later polls go straight through
    expect(page.locator("#job-live .badge")).to_have_text("Running", timeout=15_000)
    page.wait_for_function("() => document.querySelector('[data-role=started] time') !== null")
    assert re.search(r"\d{2}:\d{2}:\d{2}", page.locator("[data-role=started]").inner_text())
    while len(polls) < 3:  # several polls after the change: the log must not repeat it
        page.wait_for_timeout(500)
    log = page.locator("#log li").all_inner_texts()
    assert [line[line.index("status:") :] for line in log if "status:" in line] == ["status: Running"], log
    # Curves and results come first; the 17 settings are folded under them.
    settings = page.locator("#settings-box")
    assert settings.evaluate("d => d.tagName === 'DETAILS' && !d.open")
    assert page.locator("#curves-title").evaluate(
        "h => !!(h.compareDocumentPosition(document.getElementById('settings-box')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    check_page(page, "job-running-named")
    page.goto(f"/jobs/{done[0].pk}/")
    assert page.locator("#eval-title").evaluate(
        "h => !!(h.compareDocumentPosition(document.getElementById('settings-box')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    page.locator("#settings-box summary").click()
    assert page.locator("#settings-box dt").all_inner_texts() == ["Epochs"]

    # The admin: the saved name in the job list, an icon link, and /favicon.ico answers.
    page.context.clear_cookies()
    sign_in(admin_user)
    page.goto("/admin/workers/trainingjob/")
    assert page.locator("#result_list tbody tr", has_text="mlp for wine (spec mlp)").count() == 3
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(icon).status == 200
    favicon = page.request.get("/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"].startswith("image/svg")


def test_the_login_page_says_what_layerloom_is_and_names_the_demo_account(page: Any) -> None:
    page.goto("/accounts/login/")
    assert "without code" in page.locator("#about").inner_text()
    assert page.locator("#demo-account").count() == 0  # no demo account here: none named
    get_user_model().objects.create_user("demo", password="layerloom-demo")
    page.reload()
    demo = page.locator("#demo-account").inner_text()
    assert "username demo" in demo and "password layerloom-demo" in demo
    check_page(page, "login-demo")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("layerloom-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))  # the named account really signs in


def test_a_dataset_that_jobs_use_is_deleted_with_them_from_its_dialog(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any
) -> None:
    dataset = make_dataset(alice, "tabular")
    jobs = [make_job(alice, dataset, status="succeeded") for _ in range(2)]
    artifacts = [add_artifact(job) for job in jobs]
    sign_in(alice)
    browser_problems.allow(409, rf"/api/datasets/{dataset.pk}/$")
    page.goto(f"/datasets/{dataset.pk}/")
    assert "{#" not in page.locator("body").inner_text()  # the dialog's template comment stays a comment
    page.get_by_role("button", name="Delete", exact=True).click()
    with_jobs = page.get_by_role("button", name="Delete with its 2 jobs")
    assert not with_jobs.is_visible()  # offered once the API says jobs use it
    page.get_by_role("button", name="Delete for good").click()
    with_jobs.wait_for()
    message = page.locator("#delete-error").inner_text()
    assert "Training jobs use this dataset" in message and "with_jobs" not in message, message
    assert page.get_by_role("button", name="Delete for good").is_disabled()
    check_page(page, "dataset-delete-with-jobs")
    with_jobs.click()
    page.wait_for_url("**/datasets/")
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not TrainingJob.objects.filter(pk__in=[j.pk for j in jobs]).exists()
    assert not any((j.artifacts_dir / a.filename).exists() for j, a in zip(jobs, artifacts, strict=True))


def test_a_saved_architecture_reopens_with_its_dataset_and_the_palette_is_compact(
    page: Any, sign_in: Any, alice: Any
) -> None:
    dataset = make_dataset(alice, "tabular")
    sign_in(alice)
    page.goto(f"/architectures/new/?dataset={dataset.pk}&preset=mlp")
    wait_valid(page)
    page.get_by_label("Architecture name").fill("mlp for tiny")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#save-state", has_text="Saved at").wait_for()
    settle(page)
    saved = Architecture.objects.get(owner=alice, name="mlp for tiny")
    assert saved.dataset_id == dataset.pk
    later = make_dataset(alice, "tabular", seed=1)  # listed first on the train form
    later.name = "a later table"
    later.save()

    # Reopened from the list: its dataset is in the header and goes along to the train form.
    page.goto("/architectures/")
    page.get_by_role("link", name="mlp for tiny").click()
    page.wait_for_url(f"**/architectures/{saved.pk}/")
    wait_valid(page)
    assert f"Dataset: {dataset.name}" in page.locator(".dataset-line").inner_text()
    assert page.get_by_role("link", name="Train ▸").get_attribute("href").endswith(f"&dataset={dataset.pk}")
    page.goto(f"/jobs/new/?architecture={saved.pk}")
    assert page.locator("#id_dataset").input_value() == str(dataset.pk)

    # The palette: a strip of folding groups that leaves the code near the top.
    page.goto(f"/architectures/{saved.pk}/")
    wait_valid(page)
    palette = page.locator("nav.palette")
    assert page.locator(".palette-item").count() >= 30
    assert palette.bounding_box()["height"] < 420, palette.bounding_box()
    assert page.locator("#code-panel").bounding_box()["y"] < 1300, page.locator("#code-panel").bounding_box()
    dense = page.get_by_role("button", name="Add Dense layer")
    dense.hover()
    colours = dense.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert contrast(*colours) >= 4.5, colours
    # Finding a type: only the matches stay, and Enter adds the first.
    page.get_by_label("Find a layer type").fill("conv2d")
    visible = page.locator(".palette-item:visible").all_inner_texts()
    assert visible and all("conv2d" in t.lower() for t in visible), visible
    page.get_by_label("Find a layer type").fill("no such layer")
    assert page.locator("#palette-none").is_visible()
    page.get_by_label("Find a layer type").fill("dropout")
    page.get_by_label("Find a layer type").press("Enter")
    wait_valid(page)
    assert row(page, "dropout1").count() == 1
    page.locator("summary", has_text="Core").click()  # a group folds away
    assert not dense.is_visible()

    # On a phone the layers come before the palette (its groups folded), each with its parameter count.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    wait_valid(page)
    assert page.locator("section.layers").bounding_box()["y"] < palette.bounding_box()["y"]
    assert palette.bounding_box()["height"] < 420, palette.bounding_box()
    assert page.locator(".palette-group[open]").count() == 0
    count = row(page, "hidden1").locator(".count")
    assert count.is_visible() and re.fullmatch(r"[\d,]+ params", count.inner_text()), count.inner_text()
    check_page(page, "builder-compact-palette")


def test_the_predict_pages_curl_box_is_reachable_by_keyboard(page: Any, sign_in: Any, alice: Any) -> None:
    CACHE.clear()  # ids repeat between tests' databases; the live server shares this process's cache
    job = onnx_job(alice, TABLE_DOC)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    box = page.locator("pre.curl")
    box.locator("code").filter(has_text="curl").wait_for()
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-label")
    page.set_viewport_size({"width": 390, "height": 844})
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # it does scroll sideways here
    box.focus()
    assert page.evaluate("() => document.activeElement.classList.contains('curl')")
    assert audit(page) == []
    CACHE.clear()
