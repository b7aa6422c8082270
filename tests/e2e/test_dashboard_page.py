"""The dashboard in a real browser: it loads clean under the CSP and passes the audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import audit, shot

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
