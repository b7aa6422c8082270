"""Reading a spec file for the architecture commands, with errors a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from builder.limits import spec_limits
from builder.spec import Limits


def read_spec(path: str) -> Any:
    """The parsed JSON of ``path`` ('-' reads standard input)."""
    import sys

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text; a spec is a JSON document.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None


def limits() -> Limits:
    return spec_limits()
