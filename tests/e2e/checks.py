"""What every page must pass: axe-core's audit and a layout with no sideways scrolling at
1280 px, 1024 px and a phone's width. A failing test leaves a screenshot of its page (see
conftest.py); the newcomer's path keeps one of each width as a record. Also the builder
helpers its tests and the newcomer's path share."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import audit, shot

WIDTHS = {"1280": (1280, 900), "1024": (1024, 800), "phone": (390, 844)}


def check_page(page: Any, name: str, keep_shots: bool = False) -> None:
    violations = audit(page)
    assert violations == [], (name, violations)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        # Charts resize on the next frame: measure after two animation frames, not a fixed wait.
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {label}"
        if keep_shots:
            assert shot(page, f"{name}-{label}").stat().st_size > 0
    page.set_viewport_size({"width": 1280, "height": 900})


def row(page: Any, layer_id: str) -> Any:
    return page.locator(".layer-row", has=page.locator(".layer-id", has_text=re.compile(f"^{layer_id}$")))


def wait_valid(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('validation-state').textContent === 'Valid'")


def settle(page: Any) -> None:
    """No check and no code request in flight (leaving the page would abort them)."""
    page.wait_for_function(
        """() => !['', 'Checking…'].includes(document.getElementById('validation-state').textContent)
                 && document.getElementById('code-status').textContent !== 'Generating…'"""
    )
