"""The dashboard in a real browser: it loads clean under the CSP and passes the audit."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture
from tests.api.conftest import make_job
from tests.e2e.conftest import audit, shot
from tests.workers.helpers import SPECS, make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


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
        page.wait_for_timeout(200)  # charts and the diagram draw on the next frames
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 390 px"
        assert page.locator(".topbar summary").is_visible()
        shot(page, "phone" + url.replace("/", "-"))
