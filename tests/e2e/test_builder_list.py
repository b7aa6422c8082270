"""The architectures list, names shown as text, someone else's architecture, and narrow screens."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture, Dataset
from builder.spec import presets, validate_spec
from tests.e2e.conftest import audit, shot
from tests.e2e.test_builder_page import assert_accessible, rows, settle, wait_valid

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

HOSTILE = "<img src=x onerror=alert(1)>"


def test_the_list_links_every_architecture_and_names_are_text(page: Any, sign_in: Any, alice: Any) -> None:
    older = Architecture.objects.create(owner=alice, name="plain mlp", spec=presets()["mlp"])
    hostile = Architecture.objects.create(owner=alice, name=HOSTILE, spec=presets()["lenet5"])
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(alice)
    page.goto("/architectures/")
    links = page.locator(".architecture-table tbody a")
    assert links.all_inner_texts() == [HOSTILE, "plain mlp"]  # newest change first
    assert links.first.get_attribute("href") == f"/architectures/{hostile.pk}/"
    assert page.locator(".architecture-table tbody tr").first.locator("td").nth(1).inner_text() == "8"
    assert page.locator(".architecture-table img").count() == 0
    assert page.get_by_role("link", name="New architecture").get_attribute("href") == "/architectures/new/"
    shot(page, "architectures-list")
    assert_accessible(page)

    links.first.click()
    wait_valid(page)
    assert page.get_by_label("Architecture name").input_value() == HOSTILE
    assert rows(page)[0] == "c1"
    assert page.locator("#main img").count() == 0 and dialogs == []  # the header's logo is the only image
    assert page.title().startswith(HOSTILE)
    settle(page)
    page.goto(f"/architectures/{older.pk}/")
    wait_valid(page)
    assert page.locator("#total-params").inner_text() == f"{validate_spec(older.spec).total_params:,}"
    assert audit(page) == []
    settle(page)


def test_someone_elses_architecture_or_dataset_is_not_found(
    page: Any, sign_in: Any, alice: Any, bob: Any, browser_problems: Any
) -> None:
    theirs = Architecture.objects.create(owner=bob, name="bobs", spec=presets()["mlp"])
    browser_problems.allow(404, r"/architectures/")
    sign_in(alice)
    for url in (f"/architectures/{theirs.pk}/", "/architectures/new/?dataset=999", "/architectures/new/?dataset=abc"):
        assert page.goto(url).status == 404, url
        page.wait_for_load_state("networkidle")  # the favicon too: leaving earlier aborts it


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (390, 844)])
def test_the_builder_fits_narrow_screens(page: Any, sign_in: Any, alice: Any, width: int, height: int) -> None:
    architecture = Architecture.objects.create(owner=alice, name="residual", spec=presets()["residual_cnn"])
    page.set_viewport_size({"width": width, "height": height})
    sign_in(alice)
    page.goto(f"/architectures/{architecture.pk}/")
    wait_valid(page)
    shot(page, f"builder-{width}px")
    # Nothing of the builder but the code scrolls sideways (the shell's header is the page shell's).
    wide = page.evaluate(
        """(width) => [...document.querySelectorAll('main *')]
             .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest('pre'))
             .map((e) => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)""",
        width,
    )
    assert wide == []
    assert_accessible(page)
    settle(page)


def test_every_layer_type_from_the_palette_starts_with_valid_params(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any
) -> None:
    browser_problems.allow(400, r"/api/architectures/validate/$")  # the stack of every type does not fit together
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/api/architectures/validate/") else None)
    sign_in(alice)
    page.goto("/architectures/new/")
    page.get_by_role("heading", name="Start from a preset", exact=True).wait_for()
    page.locator(".preset-card").first.wait_for()
    assert page.locator(".preset-card").count() == len(presets())  # no dataset: every preset, as published
    page.get_by_role("button", name="Start empty").click()
    settle(page)
    types = page.locator(".palette-item").all_inner_texts()
    assert {"Dense", "Conv2D", "LSTM", "Bidirectional", "Add", "Concatenate"} <= set(types)
    for layer_type in types:
        page.get_by_role("button", name=f"Add {layer_type} layer", exact=True).click()
    settle(page)
    assert rows(page) == [f"{t.lower()}1" for t in types]
    errors = answers[-1].json()["errors"]
    param_codes = {"missing_param", "unknown_param", "wrong_type", "out_of_range", "invalid_choice", "invalid_value"}
    assert [e["message"] for e in errors if e["code"] in param_codes] == []
    assert errors  # shapes do not all fit: the check did run on every layer


def test_tab_reaches_every_kind_of_control(page: Any, sign_in: Any, alice: Any) -> None:
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=presets()["mlp"])
    sign_in(alice)
    page.goto(f"/architectures/{architecture.pk}/")
    settle(page)
    row_uid = page.locator(".layer-row").first.get_attribute("data-uid")
    page.locator(f'.layer-row[data-uid="{row_uid}"]').focus()
    page.keyboard.press("Enter")  # open the first layer's settings, so its form is in the tab order too
    page.locator("#arch-name").focus()
    reached = set()
    for _ in range(160):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                """() => { const e = document.activeElement;
                           return e.id || e.getAttribute('aria-label') || e.className.baseVal || e.className || e.tagName; }"""
            )
        )
    expected = {"save", "duplicate", "train", "Add Dense layer", "Add Concatenate layer", "input-shape",
                "Move hidden1 up", "Remove out", f"f-{row_uid}-units", f"f-{row_uid}-activation",
                f"f-{row_uid}-use_bias", f"f-{row_uid}-id", "tab-keras", "copy-code", "download-code"}  # fmt: skip
    assert expected <= reached, expected - reached
    assert {"Layer 1: Dense hidden1", "Layer 4: Dense out"} <= reached  # the rows themselves
    assert any(str(r).startswith("node") for r in reached)  # diagram boxes


def test_a_dataset_still_being_prepared_says_so(page: Any, sign_in: Any, alice: Any, browser_problems: Any) -> None:
    pending = Dataset.objects.create(owner=alice, name="big table", kind="tabular", status="processing", sha256="2" * 64)
    browser_problems.allow(400, r"/api/presets/\?dataset=")
    sign_in(alice)
    page.goto(f"/architectures/new/?dataset={pending.pk}")
    message = page.locator("#start-message")
    message.filter(has_text="not ready").wait_for()
    assert "big table" in message.inner_text() and "once ingestion has finished" in message.inner_text()
    assert "still processing" in page.locator(".dataset-line").inner_text()
    assert page.get_by_role("button", name="Start empty").is_visible()
    assert_accessible(page)
