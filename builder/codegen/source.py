"""Helpers to write Python source from validated values.

Nothing here ever pastes free text into source: values pass through :func:`literal`,
which only writes numbers, booleans, None and plain-word strings, and names come from
validated ids.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z0-9_.\-]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_LINE = 100


def literal(value: Any) -> str:
    """Python source for a validated value (double-quoted strings, tuples for lists)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, str):
        # Validated values are plain words; anything else still goes through repr.
        return f'"{value}"' if _PLAIN.match(value) else repr(value)
    if isinstance(value, list | tuple):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    raise TypeError(f"cannot write {type(value).__name__} into generated source")


def name(value: str) -> str:
    """A validated identifier, checked again so a bug cannot turn into injected code."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"not an identifier: {value!r}")
    return value


def call(func: str, args: list[str] | None = None, kwargs: dict[str, str] | None = None, indent: int = 0) -> str:
    """``func(a, b, k=v)`` on one line, or one argument per line when that is too long."""
    parts = list(args or []) + [f"{k}={v}" for k, v in (kwargs or {}).items()]
    one_line = f"{func}({', '.join(parts)})"
    if indent + len(one_line) <= MAX_LINE or not parts:
        return one_line
    inner = " " * (indent + 4)
    return func + "(\n" + "".join(f"{inner}{p},\n" for p in parts) + " " * indent + ")"
