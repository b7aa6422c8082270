"""Where table ingestion's time goes: ingest_tabular in this process, its phases timed (wall and
the process's CPU seconds), beside one bare pyarrow.csv.read_csv of the same file, in alternating
rounds (medians compared).

    .venv/bin/python bench/bench_ingest_phases.py --size 272M --rounds 5

Phases: before the parse (the byte scan, header, first block's types), the parse (with the split,
the per-column checks and statistics, the training rows' moments and the stored rows), the fit
and checks, the write of the standardised arrays, and the document and profile. The CSV is
bench_ingest's (20 float columns and a 5-class label). docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="272M", help="CSV size, e.g. 272M or 1G (default 272M)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import pyarrow.csv as pacsv
    from bench_ingest import cpu_seconds, make_csv, parse_size

    from builder.datasets import tabular
    from builder.datasets.limits import Limits
    from builder.datasets.options import validate_options

    marks: list[tuple[str, float, float]] = []

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter(), cpu_seconds()))

    scan, write = tabular._scan_with_retries, tabular._write

    def timed_scan(*a, **k):  # type: ignore[no-untyped-def]
        mark("before the parse")
        result = scan(*a, **k)
        mark("the parse")
        return result

    def timed_write(*a, **k):  # type: ignore[no-untyped-def]
        mark("fit and checks")
        result = write(*a, **k)
        mark("write")
        return result

    tabular._scan_with_retries, tabular._write = timed_scan, timed_write
    work = Path(tempfile.mkdtemp(prefix="layerloom-bench-phases-"))
    try:
        source = work / "data.csv"
        rows = make_csv(source, parse_size(args.size))
        print(f"{source.stat().st_size / 1e6:,.0f} MB, {rows:,} rows; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f} at start")  # fmt: skip
        options = validate_options("tabular", {"target_column": "label"})
        phases: dict[str, list[tuple[float, float]]] = {}
        bare: list[tuple[float, float]] = []
        for number in range(1, args.rounds + 1):
            cpu, started = cpu_seconds(), time.perf_counter()
            pacsv.read_csv(source)
            bare.append((time.perf_counter() - started, cpu_seconds() - cpu))
            out = work / "v1"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            marks.clear()
            mark("start")
            tabular.ingest_tabular(source, options, out, Limits())
            mark("document and profile")
            line = []
            for (_, t0, c0), (name, t1, c1) in zip(marks, marks[1:], strict=False):
                phases.setdefault(name, []).append((t1 - t0, c1 - c0))
                line.append(f"{name} {t1 - t0:.2f} s")
            total = (marks[-1][1] - marks[0][1], marks[-1][2] - marks[0][2])
            phases.setdefault("ingestion in all", []).append(total)
            print(f"round {number}: bare {bare[-1][0]:.2f} s ({bare[-1][1]:.2f} CPU-s) | " + " | ".join(line)
                  + f" | in all {total[0]:.2f} s ({total[1]:.2f} CPU-s) | load {os.getloadavg()[0]:.2f}")  # fmt: skip
        wall, cpu = statistics.median(b[0] for b in bare), statistics.median(b[1] for b in bare)
        print(f"medians: bare read_csv {wall:.2f} s ({cpu:.2f} CPU-s)")
        for name, values in phases.items():
            w, c = statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)
            print(f"  {name:22s} {w:6.3f} s = {w / wall:.2f} of the bare parse; {c:6.3f} CPU-s = {c / cpu:.2f}")
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
