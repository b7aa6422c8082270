"""Where table ingestion's time goes: ingest_tabular in this process, its phases timed (wall, and
the process's CPU seconds with the system's share), beside one bare pyarrow.csv.read_csv of the
same file, in alternating rounds (medians compared, the first round left out from three rounds on:
both sides meet memory new to the process there).

    .venv/bin/python bench/bench_ingest_phases.py --size 272M --rounds 5
    .venv/bin/python bench/bench_ingest_phases.py --keep-memory   # both sides on memory already touched

With --keep-memory the process runs with its allocators told to keep what is freed (glibc's and
pyarrow's mimalloc: RETAINED below), so after the first round neither side pays for memory new to
the process (which costs more on a VM that hands free memory back to its host; bench_first_touch.py).

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
# Allocator settings that keep freed memory in the process: large blocks from the heap rather than
# their own mappings, the heap never trimmed, mimalloc never purging. Read at start, so set by a re-exec.
RETAINED = {
    "MALLOC_MMAP_THRESHOLD_": str(2**31),
    "MALLOC_TRIM_THRESHOLD_": str(2**32),
    "MIMALLOC_PURGE_DELAY": "-1",
}
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="272M", help="CSV size, e.g. 272M or 1G (default 272M)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep-memory", action="store_true", help="run with RETAINED's allocator settings")
    args = parser.parse_args()
    if args.keep_memory and any(os.environ.get(k) != v for k, v in RETAINED.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **RETAINED})

    from bench_ingest import bare_parse, cpu_and_system, make_csv, parse_size

    from builder.datasets import tabular
    from builder.datasets.limits import Limits
    from builder.datasets.options import validate_options

    marks: list[tuple[str, float, tuple[float, float]]] = []

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter(), cpu_and_system()))

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
        kept = "; allocators keep freed memory" if args.keep_memory else ""
        print(f"{source.stat().st_size / 1e6:,.0f} MB, {rows:,} rows; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f} at start{kept}")  # fmt: skip
        options = validate_options("tabular", {"target_column": "label"})
        phases: dict[str, list[tuple[float, float, float]]] = {}  # (wall, CPU, system) seconds
        bare: list[tuple[float, float, float]] = []
        for number in range(1, args.rounds + 1):
            bare.append(bare_parse(source))
            out = work / "v1"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            marks.clear()
            mark("start")
            tabular.ingest_tabular(source, options, out, Limits())
            mark("document and profile")
            line = []
            for (_, t0, c0), (name, t1, c1) in zip(marks, marks[1:], strict=False):
                phases.setdefault(name, []).append((t1 - t0, c1[0] - c0[0], c1[1] - c0[1]))
                line.append(f"{name} {t1 - t0:.2f} s")
            (_, t0, c0), (_, t1, c1) = marks[0], marks[-1]
            total = (t1 - t0, c1[0] - c0[0], c1[1] - c0[1])
            phases.setdefault("ingestion in all", []).append(total)
            print(f"round {number}: bare {bare[-1][0]:.2f} s ({bare[-1][1]:.2f} CPU-s, {bare[-1][2]:.2f} system) | "
                  + " | ".join(line) + f" | in all {total[0]:.2f} s ({total[1]:.2f} CPU-s, {total[2]:.2f} system)"
                  f" | load {os.getloadavg()[0]:.2f}")  # fmt: skip
        # The first round meets memory new to the process on both sides; the medians leave it out.
        counted = slice(1, None) if args.rounds > 2 else slice(None)
        wall, cpus, system = (statistics.median(b[i] for b in bare[counted]) for i in range(3))
        print(
            f"medians{' after the first round' if args.rounds > 2 else ''}: "
            f"bare read_csv {wall:.2f} s ({cpus:.2f} CPU-s, {system:.2f} system)"
        )
        for name, values in phases.items():
            w, c, k = (statistics.median(v[i] for v in values[counted]) for i in range(3))
            print(
                f"  {name:22s} {w:6.3f} s = {w / wall:.2f} of the bare parse; {c:6.3f} CPU-s = {c / cpus:.2f}"
                f" ({k:.3f} system)"
            )
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
