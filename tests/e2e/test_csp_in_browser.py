"""In a real browser, the pages and the API docs work under the Content-Security-Policy.

Headless Chromium reports every CSP violation on its console, which the `page` fixture
(tests/e2e/conftest.py) turns into a failure; the Swagger UI must render the API's title,
which is what proves its start-up script loads as a file.
"""

from __future__ import annotations

from typing import Any

import pytest

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def violations(browser_problems: Any) -> list[str]:
    return [p for p in browser_problems.seen if "Content Security Policy" in p]


def test_api_docs_render_under_the_policy(page: Any) -> None:
    page.goto("/api/docs/")
    page.wait_for_selector("text=Layerloom API", state="visible", timeout=20_000)
    page.wait_for_load_state("networkidle")


def test_login_page_has_no_violations(page: Any) -> None:
    page.goto("/accounts/login/")
    page.wait_for_selector("form button[type=submit]", state="visible")
    page.wait_for_load_state("networkidle")


def test_an_inline_style_would_be_reported(page: Any, browser_problems: Any) -> None:
    """The checks above can fail: a page with an inline style attribute is reported."""
    page.goto("/accounts/login/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div style=\"color: red\">x</div>')")
    for _ in range(100):  # Chromium reports it on its console a moment later (at most 5 s here)
        if violations(browser_problems):
            break
        page.wait_for_timeout(50)
    assert violations(browser_problems), "Chromium reported no violation for an inline style attribute"
    browser_problems.seen.clear()
