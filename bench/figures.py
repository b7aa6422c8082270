"""The figures a benchmark hands to `make bench` (bench/run_all.py), which writes docs/benchmarks.md.

A benchmark prints what it measured as before and also calls `record(...)`; outside `make bench`
(no LAYERLOOM_BENCH_FIGURES in the environment) `record` does nothing, so every script still runs
on its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

OUT_ENV = "LAYERLOOM_BENCH_FIGURES"


@dataclass(frozen=True)
class Figure:
    """One row of an area's table: a measurement beside its reference from the same run."""

    figure: str  # what was measured, in words
    measured: str  # the value with its unit, formatted
    reference: str = ""  # what it is compared with, measured in the same run (or the target it is held to)
    ratio: float | None = None  # measured / reference
    target: str = ""  # the aim, in words ("within 1.2x", "p99 < 100 ms")
    met: bool | None = None  # None: no target, or not decidable from this run


def record(*figures: Figure) -> None:
    path = os.environ.get(OUT_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for figure in figures:
            # numpy scalars (a ratio, a comparison) as the Python numbers they hold
            out.write(json.dumps(asdict(figure), default=lambda value: value.item()) + "\n")
