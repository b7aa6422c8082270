"""What every page must pass: axe-core's audit and a layout with no sideways scrolling at
1280 px, 1024 px and a phone's width; a screenshot of each width is kept. Also the builder
helpers its tests and the newcomer's path share."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import audit, shot

WIDTHS = {"1280": (1280, 900), "1024": (1024, 800), "phone": (390, 844)}


def check_page(page: Any, name: str) -> None:
    violations = audit(page)
    assert violations == [], (name, violations)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)  # charts resize on the next frame
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {label}"
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
