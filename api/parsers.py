"""JSON bodies with a bounded depth: any malformed body is a 400, never a RecursionError.

Python's json module recurses once per level of nesting, so a body nested a few thousand
deep raises RecursionError (a 500) in the parser or in any later code that walks it. The
parser below turns that into a ParseError and refuses nesting deeper than
LAYERLOOM_MAX_JSON_DEPTH, far beyond what any real spec or option needs.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers


def json_depth_ok(value: Any, limit: int) -> bool:
    """Whether `value` nests at most `limit` containers deep (iterative: no recursion of its own)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


def loads(text: str | bytes) -> Any:
    """Parse JSON text for the API; every way it can be malformed is a ParseError with a reason."""
    limit: int = settings.LAYERLOOM_MAX_JSON_DEPTH
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise exceptions.ParseError(f"JSON nested too deeply: at most {limit} levels are accepted.") from None
    except UnicodeDecodeError:
        raise exceptions.ParseError("The body is not valid UTF-8: send JSON encoded as UTF-8.") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise exceptions.ParseError(f"The body is not valid JSON: {str(exc)[:200]}") from None
    if not json_depth_ok(value, limit):
        raise exceptions.ParseError(f"JSON nested too deeply: at most {limit} levels are accepted.")
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser through loads() above."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        data = stream.read() if stream is not None else b""
        return loads(data)
