"""What the CSV-upload kinds (tabular, text) share: the request-time header check, the first
rows for the dataset page, and rows read back by their number for examples."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from builder.datasets.csvsource import read_header
from builder.datasets.errors import DatasetError, OptionsError
from builder.datasets.limits import Limits

SAMPLE_ROWS = 8
SAMPLE_BYTES = 64 * 1024
UPLOAD_ACCEPT = (".csv", "text/csv")
SAMPLE_TEMPLATE = "builder/kinds/csv_samples.html"


def header_or_error(path: Path, limits: Limits) -> list[str]:
    """The upload's header row; OptionsError on the file field when it cannot be read as a CSV."""
    try:
        return read_header(path, limits)
    except DatasetError as exc:
        raise OptionsError({"file": str(exc)}) from None


def sample_rows(source: Path | None) -> dict[str, Any] | None:
    """The first rows of the stored CSV upload, read from at most SAMPLE_BYTES of it."""
    if source is None or not source.is_file():
        return None
    with source.open("rb") as handle:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
        head = handle.read(SAMPLE_BYTES).decode("utf-8-sig", errors="replace")
    lines = list(csv.reader(io.StringIO(head)))
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut mid-way
    if not lines:
        return None
    return {"header": lines[0], "rows": lines[1 : SAMPLE_ROWS + 1]}


def row_at(source: Path, index: int) -> dict[str, str] | None:
    """Data row number ``index`` (0 = the first after the header) as {column: text}."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if number == index:
                return {str(k): v for k, v in row.items() if k is not None}
    return None


def rows_numbered(source: Path | None, wanted: set[int]) -> dict[int, dict[str, str]]:
    """The upload's data rows with these numbers (0 = first row after the header), as {column: text}."""
    if not wanted or source is None or not source.is_file():
        return {}
    found: dict[int, dict[str, str]] = {}
    last = max(wanted)
    with source.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for number, cells in enumerate(reader):
            if number in wanted:
                found[number] = dict(zip(header, cells, strict=False))
            if number >= last:
                break
    return found


def describe_with_rows(examples: list[dict[str, Any]], source: Path | None) -> None:
    """Each example's "row": the uploaded CSV row it came from (None when gone)."""
    found = rows_numbered(source, {e["id"] for e in examples})
    for example in examples:
        example["row"] = found.get(example["id"])
