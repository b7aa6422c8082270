"""What the commands print: JSON for scripts, aligned tables for people.

The default follows stdout: a table on a terminal, JSON when it is piped or redirected
(the way `gh` and `docker` switch), so `layerloom jobs | jq` works without a flag and a
person at a terminal gets something readable. --output (or LAYERLOOM_OUTPUT) chooses.
A column aligner is a dozen lines; a table library would be the client's third dependency.
"""

from __future__ import annotations

import json
import sys
from typing import Any

FORMATS = ("json", "table")
MAX_CELL = 48

# The columns of each kind of list, as (heading, how to read it from one item).
COLUMNS: dict[str, list[tuple[str, Any]]] = {
    "jobs": [
        ("ID", "id"),
        ("STATUS", "status"),
        ("FRAMEWORK", "framework"),
        ("DATASET", "dataset"),
        ("ARCHITECTURE", "architecture"),
        ("EPOCH", lambda j: f"{j.get('epoch', 0)}/{j.get('total_epochs', '?')}"),
        ("CREATED", "created"),
        ("ERROR", "error"),
    ],
    "datasets": [
        ("ID", "id"),
        ("NAME", "name"),
        ("KIND", "kind"),
        ("STATUS", "status"),
        ("TASK", "task"),
        ("SIZE", lambda d: human_size(d.get("size_bytes"))),
        ("CREATED", "created"),
    ],
    "sweeps": [
        ("ID", "id"),
        ("NAME", "title"),
        ("STATUS", "status"),
        ("METHOD", "method"),
        ("TRIALS", lambda s: f"{len(s.get('trials') or [])}/{s.get('max_trials', '?')}"),
        ("WINNER", "winner"),
        ("CREATED", "created"),
    ],
    "architectures": [
        ("ID", "id"),
        ("NAME", "name"),
        ("LAYERS", lambda a: len((a.get("spec") or {}).get("layers") or [])),
        ("UPDATED", "updated"),
    ],
    "layers": [
        ("LAYER", "id"),
        ("TYPE", "type"),
        ("INPUTS", lambda layer: ", ".join(layer.get("inputs") or [])),
        ("OUTPUT SHAPE", lambda layer: tuple(layer.get("output_shape") or ())),
        ("PARAMS", lambda layer: f"{layer.get('trainable_params', 0) + layer.get('non_trainable_params', 0):,}"),
    ],
}


def default_format(stream: Any = None) -> str:
    stream = stream or sys.stdout
    return "table" if stream.isatty() else "json"


def human_size(size: Any) -> str:
    if not isinstance(size, int | float):
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), default=str)
    text = " ".join(str(value).split())
    if len(text) > 19 and text[4:5] == "-" and text[10:11] == "T":  # an ISO time: to the second, as a date
        text = text[:19].replace("T", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table(rows: list[list[str]], headings: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]
    lines = ["  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)).rstrip() for row in [headings, *rows]]
    return "\n".join(lines)


def list_table(items: list[dict[str, Any]], kind: str) -> str:
    columns = COLUMNS.get(kind) or [(key.upper(), key) for key in (items[0] if items else {})]
    rows = [[cell(get(item) if callable(get) else item.get(get)) for _, get in columns] for item in items]
    return table(rows, [heading for heading, _ in columns])


def object_table(item: dict[str, Any]) -> str:
    """One object as FIELD/VALUE lines; a validation report as its layers and totals."""
    if "layers" in item and "total_params" in item:
        shape = "x".join(str(d) for d in item.get("output_shape") or ()) or "?"
        summary = (f"Total params: {item.get('total_params', 0):,}  output shape: {shape}  "
                   f"batch size {item.get('batch_size')}  {'ok' if item.get('ok') else 'NOT VALID'}")  # fmt: skip
        return list_table(item["layers"], "layers") + "\n" + summary
    # Unset fields are left out, as `kubectl describe` does; --output json shows every field.
    return table([[key, cell(value)] for key, value in item.items() if value is not None], ["FIELD", "VALUE"])


def emit(data: Any, output: str, kind: str = "") -> None:
    """Print ``data`` (a list of ``kind`` items, or one object) as ``output`` says."""
    if output == "json":
        print(json.dumps(data, indent=2, default=str))
    elif isinstance(data, list):
        print(list_table(data, kind) if data else f"No {kind or 'items'}.")
    elif isinstance(data, dict):
        print(object_table(data))
    else:
        print(data)
