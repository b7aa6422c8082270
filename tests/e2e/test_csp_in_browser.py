"""In a real browser, the pages and the API docs work under the Content-Security-Policy.

Headless Chromium reports every CSP violation on its console; the Swagger UI must render
the API's title with none reported, which is what proves its start-up script loads as a file.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

pytestmark = pytest.mark.django_db(transaction=True)
# No sandbox (root in CI); no background connections, which a closed network refuses at every start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


@pytest.fixture
def browser(live_server: Any) -> Iterator[Browser]:
    """Started after the live server's database set-up and closed before its teardown: Django's
    database calls refuse to run while Playwright's event loop is running in this thread."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is needed for the browser tests: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def visit(browser: Browser, url: str, wait_for: str) -> list[str]:
    """Open `url`, wait for `wait_for` to be visible; the CSP violations the console reported."""
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(url)
    page.wait_for_selector(wait_for, state="visible", timeout=20_000)
    page.wait_for_load_state("networkidle")
    page.close()
    return violations


def test_api_docs_render_under_the_policy(browser: Browser, live_server: Any) -> None:
    assert visit(browser, f"{live_server.url}/api/docs/", "text=Layerloom API") == []


def test_login_page_has_no_violations(browser: Browser, live_server: Any) -> None:
    assert visit(browser, f"{live_server.url}/accounts/login/", "form button[type=submit]") == []


def test_an_inline_script_would_be_reported(browser: Browser, live_server: Any, settings: Any) -> None:
    """The check above can fail: a page with an inline style attribute is reported."""
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div style=\"color: red\">x</div>')")
    page.wait_for_timeout(300)
    page.close()
    assert violations, "Chromium reported no violation for an inline style attribute"
