"""The dashboard in a real browser: it loads clean under the CSP and passes the audit."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture
from builder.usage import storage_usage
from tests.api.conftest import make_job
from tests.e2e.conftest import audit, shot
from tests.workers.helpers import SPECS, make_dataset
from webapp.templatetags.layerloom import size

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def test_dashboard_loads_without_browser_errors_or_serious_a11y_violations(page: Any, sign_in: Any, alice: Any) -> None:
    sign_in(alice)
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")
    assert audit(page) == []
    assert shot(page, "dashboard").stat().st_size > 0


def test_an_inline_script_is_refused_by_the_pages_policy(page: Any, sign_in: Any, alice: Any, browser_problems: Any) -> None:
    sign_in(alice)
    page.goto("/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s); }""")
    assert page.evaluate("() => window.ran") is None
    refused = [p for p in browser_problems.seen if "Content Security Policy" in p]
    assert refused, browser_problems.seen
    browser_problems.seen.clear()


def test_no_page_scrolls_sideways_at_a_phones_width(page: Any, sign_in: Any, django_user_model: Any) -> None:
    # A staff user with the longest name allowed, in one unbreakable word, has the widest header:
    # every nav link plus Admin and the account menu.
    staff = django_user_model.objects.create_user("n" * 138 + "@example.org", password="staff-pw-1", is_staff=True)
    dataset = make_dataset(staff, "tabular")
    architecture = Architecture.objects.create(owner=staff, name="mlp", spec=SPECS["tabular"])
    job = make_job(staff, dataset, architecture, status="succeeded")
    sign_in(staff)
    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/", f"/architectures/{architecture.pk}/", f"/jobs/{job.pk}/", "/jobs/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")  # the builder's checks and code, the charts, are in
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 390 px"
        assert page.locator(".topbar summary").is_visible()
        shot(page, "phone" + url.replace("/", "-"))


def test_the_dashboard_shows_storage_use_against_the_quota_from_the_usage_api(
    page: Any, sign_in: Any, alice: Any, settings: Any
) -> None:
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 5
    make_dataset(alice, "tabular")
    used = storage_usage(alice).used_bytes
    assert used > 0
    sign_in(alice)
    page.goto("/")
    line = page.locator("#storage [data-role=text]")
    expected = f"Storage: {size(used)} of {size(5 * 1024**2)}"  # the page's helper follows the |size filter
    page.wait_for_function("t => document.querySelector('#storage [data-role=text]').textContent === t", arg=expected)
    meter = page.locator("#storage meter")
    assert meter.is_visible()
    assert abs(float(meter.evaluate("m => m.value")) - used / (5 * 1024**2)) < 1e-6
    limits = "Jobs queued or running: 0 of 4 · estimates: 0 of 3 · named models: 0 of 20"
    assert page.locator("#storage [data-role=limits]").inner_text() == limits
    assert audit(page) == []
    shot(page, "dashboard-storage")

    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 0  # no quota: the use alone, no meter
    page.reload()
    page.wait_for_function(
        "t => document.querySelector('#storage [data-role=text]').textContent === t", arg=f"Storage: {size(used)} (no quota)"
    )
    assert not page.locator("#storage meter").is_visible()
    assert line.is_visible()
