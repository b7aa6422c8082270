"""Browser tests: Debian's Chromium driven by Playwright against a live server and a real worker.

Every page a test opens is watched: a console error, an uncaught exception, a failed
request or an HTTP error that the test did not announce with `browser_problems.allow()`
fails the test when it ends. `shot()` saves a screenshot under the test run's folder, and
`audit()` runs axe-core (vendored in tests/e2e/vendor/) and returns the serious and
critical accessibility violations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LAYERLOOM_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


@dataclass
class BrowserProblems:
    """What went wrong in the browser, less what the test said it expects."""

    seen: list[str] = field(default_factory=list)
    allowed: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)

    def allow(self, status: int, url_pattern: str) -> None:
        """An HTTP error the test provokes on purpose (a 400 from a bad form, say)."""
        self.allowed.append((status, re.compile(url_pattern)))

    def response(self, status: int, url: str) -> None:
        if status >= 400 and not any(s == status and p.search(url) for s, p in self.allowed):
            self.seen.append(f"HTTP {status} {url}")

    def request_failed(self, url: str, failure: str | None) -> None:
        # A request the browser dropped because the page moved on (a click that navigates while
        # an icon or a poll is still loading) is not a failure of the app.
        if failure != "net::ERR_ABORTED":
            self.seen.append(f"request failed: {url} {failure}")

    def console(self, kind: str, text: str) -> None:
        # Chromium logs each HTTP error response as a console error too: judged by response().
        if kind == "error" and "Failed to load resource: the server responded with a status" not in text:
            self.seen.append(f"console {kind}: {text}")


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run 'apt-get install chromium' (make test does it as root).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def _chromium(_playwright: Any) -> Iterator[dict[str, Any]]:
    holder: dict[str, Any] = {}
    yield holder
    if holder.get("browser") is not None and holder["browser"].is_connected():
        holder["browser"].close()


def connected_browser(playwright: Any, holder: dict[str, Any]) -> Any:
    """The session's Chromium (in holder), launched when there is none or it is known to be gone."""
    current = holder.get("browser")
    if current is None or not current.is_connected():
        holder["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    return holder["browser"]


def new_context(playwright: Any, holder: dict[str, Any], **options: Any) -> Any:
    """A new context in the session's Chromium. A browser that has gone away (crashed) is launched
    again, so a crash fails the test it happened in, not every browser test after it."""
    from playwright.sync_api import Error as PlaywrightError

    browser = connected_browser(playwright, holder)
    try:
        return browser.new_context(**options)
    except PlaywrightError:
        if browser.is_connected():  # the browser is there and said no: a real error
            raise
        return connected_browser(playwright, holder).new_context(**options)


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so the page fixture knows the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(
    _playwright: Any,
    _chromium: dict[str, Any],
    live_server: Any,
    browser_problems: BrowserProblems,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    context = new_context(_playwright, _chromium, base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("console", lambda m: browser_problems.console(m.type, m.text))
    tab.on("pageerror", lambda e: browser_problems.seen.append(f"uncaught: {e}"))
    tab.on("requestfailed", lambda r: browser_problems.request_failed(r.url, r.failure))
    tab.on("response", lambda r: browser_problems.response(r.status, r.url))
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:  # what the page showed when the test failed
        name = re.sub(r"[^\w.-]+", "-", request.node.name)
        path = shot(tab, f"failed-{name}")
        print(f"screenshot of the failing page: {path}")
    context.close()
    assert not browser_problems.seen, "the browser reported problems:\n" + "\n".join(browser_problems.seen)


@pytest.fixture
def sign_in(page: Any, client: Any, live_server: Any) -> Any:
    """Give the browser the session of a user (the login form has tests of its own)."""

    def give(user: Any) -> None:
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return give


def requests_sent(page: Any, method: str) -> list[str]:
    """The URLs of every request with this method that the page sends from now on."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == method else None)
    return sent


def kept(page: Any, sent: list[str]) -> None:
    """Answer "Keep it" in the delete dialog; the dialog closes and no DELETE went out meanwhile.

    The dialog closing is the sync point: its handler has run, so a delete it sent would already
    be in `sent` (the caller checks again at its next delete, when a late one would be counted).
    """
    before = len(sent)
    page.get_by_role("button", name="Keep it").click()
    page.locator("#delete-dialog").wait_for(state="hidden")
    assert len(sent) == before, sent


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under the test run's folder."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def audit(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the current page, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the driver: the page's CSP does not apply
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
