"""What every page must pass: axe-core's audit and a layout with no sideways scrolling at
1280 px, 1024 px and a phone's width; a screenshot of each width is kept."""

from __future__ import annotations

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
