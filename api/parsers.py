"""JSON bodies with a bounded depth: any malformed body is a 400, never a RecursionError.

Bodies are parsed by orjson: in C, without recursion limits of Python's own, it refuses
NaN, Infinity and numbers too large for a double, and it is several times faster than the
json module on the batches a predict request carries. Nesting deeper than
LAYERLOOM_MAX_JSON_DEPTH, far beyond what any real spec or option needs, is refused
before any later code walks the value.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import orjson
from django.conf import settings
from rest_framework import exceptions, parsers


def json_depth_ok(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests at most `limit` containers deep.

    Level by level, without recursion of its own; only containers are kept (a batch of rows
    is thousands of scalars and few containers). Exact type checks: parsers give plain
    dicts and lists, and the check is twice as fast as isinstance here.
    """
    containers = (dict, list)
    level = [value] if type(value) in containers else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        children = list(chain.from_iterable(item.values() if type(item) is dict else item for item in level))
        if set(map(type, children)).isdisjoint(containers):
            return True  # only scalars below (a batch of table rows): no per-child Python loop
        level = [child for child in children if type(child) in containers]
    return True


def loads(text: str | bytes) -> Any:
    """Parse JSON text for the API; every way it can be malformed is a ParseError with a reason."""
    limit: int = settings.LAYERLOOM_MAX_JSON_DEPTH
    too_deep = f"JSON nested too deeply: at most {limit} levels are accepted."
    if isinstance(text, str) and type(text) is not str:  # orjson refuses str subclasses (a form field's SafeString)
        text = text.encode("utf-8", "surrogatepass")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "depth limit" in reason:
            raise exceptions.ParseError(too_deep) from None
        if "UTF-8" in reason:
            raise exceptions.ParseError("The body is not valid UTF-8: send JSON encoded as UTF-8.") from None
        raise exceptions.ParseError(f"The body is not valid JSON: {reason[:200]}") from None
    if not json_depth_ok(value, limit):
        raise exceptions.ParseError(too_deep)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser through loads() above."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        data = stream.read() if stream is not None else b""
        return loads(data)
