"""Template filters that format numbers for people and mark the current page in the nav.

The same rules live in static/js/pages/format.js for values that pages update live.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()

SIZE_UNITS = ("bytes", "KB", "MB", "GB", "TB")


@register.filter
def grouped(value: Any) -> str:
    """1234567 -> "1,234,567"; anything that is not a number is shown as it is."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def size(value: Any) -> str:
    """Bytes in decimal units with one decimal: 12345678 -> "12.3 MB"."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return ""
    for unit in SIZE_UNITS:
        if abs(amount) < 1000 or unit == SIZE_UNITS[-1]:
            return f"{int(amount):,} bytes" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1000
    return ""  # unreachable: the last unit always returns


@register.filter
def duration(value: Any) -> str:
    """Seconds -> "2 min 10 s", "1 h 5 min", "0.4 s"."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@register.filter
def metric(value: Any) -> str:
    """A metric value with four significant digits; blank for none."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def shape(value: Any) -> str:
    """[4] -> "(None, 4)": the batch dimension first, as Keras prints shapes."""
    if not value:
        return "—"
    return "(None, " + ", ".join(str(v) for v in value) + ")"


@register.simple_tag(takes_context=True)
def nav_link(context: dict[str, Any], href: str, label: str, exact: bool = False, unless: str = "") -> str:
    """A nav link that says it is the current page to screen readers and to the eye."""
    path = getattr(context.get("request"), "path", "")
    current = path == href if exact else path.startswith(href) and not (unless and path.startswith(unless))
    if current:
        return format_html('<a href="{}" aria-current="page">{}</a>', href, label)
    return format_html('<a href="{}">{}</a>', href, label)


@register.filter
def mul4(value: Any) -> int:
    """Parameters -> bytes of their float32 weights."""
    try:
        return int(value) * 4
    except (TypeError, ValueError):
        return 0
