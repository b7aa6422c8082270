"""`make bench`: run every benchmark in bench/ and write docs/benchmarks.md from what they measured.

Each area runs as its own process with LAYERLOOM_BENCH_FIGURES pointing at a scratch file that
its `figures.record` calls append to; its whole output goes to var/bench/<area>.log. The figures
of every area are kept in docs/benchmarks.json (so `--only` refreshes some areas and keeps the
others' last run, each table dated), and docs/benchmarks.md is written from that file.

    .venv/bin/python bench/run_all.py                    # every area, default settings
    .venv/bin/python bench/run_all.py --only ingest,serving
    .venv/bin/python bench/run_all.py --render           # rewrite the page from benchmarks.json only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "benchmarks.json"
PAGE = ROOT / "docs" / "benchmarks.md"
LOGS = ROOT / "var" / "bench"


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    script: str
    args: tuple[str, ...]
    about: str  # one sentence: what the figures are and what they are compared with


AREAS = (
    Area("spec", "Architecture checks and code generation", "bench_spec.py", ("--repeat", "20"),
         "A 200-layer residual spec: validation with shape inference, and each framework's code generation, "
         "against the targets."),
    Area("builder", "The builder's validation round trip", "bench_builder.py", ("--repeat", "40"),
         "POST /api/architectures/validate/ for a 200-layer spec: through Django's whole stack in the "
         "process, and as a full HTTP request to a server thread."),
    Area("ingest", "Dataset ingestion through the API", "bench_ingest.py", ("--api", "--size", "272M,1G", "--rounds", "5"),
         "A numeric CSV uploaded through POST /api/datasets/ to a web process and a Celery worker: from the "
         "upload's answer to `ready`, against one bare `pyarrow.csv.read_csv` of the same file."),
    Area("audio", "Audio", "bench_audio.py", ("--rounds", "3"),
         "640 spoken-word clips: the audio_cnn preset's test accuracy against logistic regression on the same "
         "features, and the kind's ingestion against a bare decode-and-spectrogram loop."),
    Area("serving", "Serving predictions", "bench_serving.py", (),
         "POST /api/jobs/{id}/predict/ on the production web server (gunicorn, PostgreSQL, Redis) against "
         "the same ONNX Runtime session called directly and an authenticated request that does no work."),
    Area("serving_load", "Serving under load", "bench_serving_load.py", ("--cpu-requests", "1000", "--seconds", "10"),
         "The server's CPU per single-row prediction (gunicorn's processes, from /proc) against an empty "
         "authenticated request, and the p99 of an open-loop load at half the measured maximum throughput."),
    Area("training", "Training: whole epochs against a hand-written loop", "bench_training.py",
         ("--rounds", "2", "--epochs", "4", "--threads", "1"),
         "A platform job's whole epoch (validation, metrics, checkpoint, writes) against a hand-written "
         "loop of the same generated model, data and settings (one math thread each: a job's default on "
         "two cores), alternating; and submission to first batch."),
    Area("keras_loop", "The Keras job loop, paired epochs", "bench_keras_loop.py", ("--pairs", "12", "--models", "mlp"),
         "The job's `model.fit` with its callbacks and reporter against a plain `model.fit` of the same "
         "model, alternating epoch by epoch in one process."),
    Area("epoch_parts", "Where an epoch goes", "bench_epoch_parts.py", ("--epochs", "6"),
         "One Keras MLP job in the process, its epoch cut into parts: what the job adds around the "
         "framework's own training."),
    Area("contention", "Trainer threads under contention", "bench_contention.py", ("--rounds", "1"),
         "A job's epoch quiet and beside one busy process, with the trainer's thread sizing and with the "
         "frameworks' defaults."),
    Area("store", "The file store on an S3-compatible server", "bench_store.py", ("--rounds", "2", "--epochs", "4"),
         "A job's whole epochs with its dataset and checkpoints in a bucket (moto on loopback) against the same "
         "job on local files, alternating; a 1 GiB artifact download's peak in the web worker's memory against "
         "its idle; the web-only install's size and memory against the full install's."),
    Area("sweep", "Sweeps", "bench_sweep.py", (),
         "A 12-trial random sweep on the wine table with the median pruner and without, and its winner "
         "against one job with the default settings."),
    Area("gpu", "GPU", "bench_gpu.py", (),
         "A small CNN in each framework on the GPU and on the CPU (samples per second)."),
)  # fmt: skip


def machine() -> dict[str, object]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version()}  # fmt: skip


def commit() -> str:
    """The code measured: the commit, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    # The run's own output (this page and its figures) does not count as a change to the code.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/benchmarks.md",
                  ":!docs/benchmarks.json")  # fmt: skip
    return head + (" with uncommitted changes" if changed else "")


def run_area(area: Area) -> dict[str, object]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{area.key}.log"
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as scratch:
        env = {**os.environ, "LAYERLOOM_BENCH_FIGURES": scratch.name, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, f"bench/{area.script}", *area.args]
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        print(f"[{area.key}] {' '.join(command[1:])} (log: {log.relative_to(ROOT)})", flush=True)
        with open(log, "w") as out:
            status = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        figures = [json.loads(line) for line in Path(scratch.name).read_text().splitlines() if line.strip()]
    took = time.monotonic() - started
    print(f"[{area.key}] exit {status}, {len(figures)} figures, {took:.0f} s", flush=True)
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(),
            "command": " ".join(command[1:]),
            "exit": status, "seconds": round(took), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2), "machine": machine(), "figures": figures}  # fmt: skip


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(runs: dict[str, dict[str, object]]) -> str:
    lines = ["# Benchmarks", "",
             "Written by `make bench` (bench/run_all.py) from docs/benchmarks.json: every figure beside its",
             "reference measured in the same run (where nothing comparable runs, its target), as a ratio.",
             "Each area's table says when it ran, on which commit, on what",
             "machine and under what load (the 1-minute load average before and after; the development",
             "machine is shared, so a busy moment shows in both sides of a ratio more than in the ratio).",
             "Logs of the last run are in var/bench/. Earlier runs, with the longer reasoning behind the",
             "figures, are in [benchmarks-history.md](benchmarks-history.md).", ""]  # fmt: skip
    for area in AREAS:
        run = runs.get(area.key)
        lines += [f"## {area.title}", "", area.about, ""]
        if run is None:
            lines += ["Not run yet: `.venv/bin/python bench/run_all.py --only " + area.key + "`.", ""]
            continue
        box = run["machine"]
        lines.append(f"Run {run['date']} on {run.get('commit', 'an unrecorded commit')}: `{run['command']}`, "
                     f"{run['seconds']} s; {box['cpu']}, {box['cores']} cores, "
                     f"{box['memory_gib']} GiB; load average {run['load_before']} before, {run['load_after']} after.")  # fmt: skip
        if run["exit"] != 0:
            lines.append(f"**The benchmark failed (exit {run['exit']})**; var/bench/{area.key}.log has its output.")
        lines.append("")
        if not run["figures"]:
            lines += ["No figures were produced (see the log).", ""]
            continue
        lines += ["| figure | measured | reference (same run) | ratio | target | met |", "|---|---|---|---|---|---|"]
        for f in run["figures"]:
            ratio = "" if f["ratio"] is None else f"{f['ratio']:.2f}x"
            met = {True: "yes", False: "**no**", None: ""}[f["met"]]
            lines.append("| " + " | ".join(cell(v) for v in (f["figure"], f["measured"], f["reference"], ratio,
                                                                 f["target"], met)) + " |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="areas to run, comma-separated: " + ",".join(a.key for a in AREAS))
    parser.add_argument("--render", action="store_true", help="only rewrite docs/benchmarks.md from benchmarks.json")
    args = parser.parse_args()
    keys = [k for k in args.only.split(",") if k] or [a.key for a in AREAS]
    unknown = sorted(set(keys) - {a.key for a in AREAS})
    if unknown:
        parser.error(f"unknown area(s) {', '.join(unknown)}; the areas are {', '.join(a.key for a in AREAS)}")
    runs = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    failed = []
    if not args.render:
        for area in (a for a in AREAS if a.key in keys):
            runs[area.key] = run_area(area)
            if runs[area.key]["exit"] != 0:
                failed.append(area.key)
            # Written after every area, so an interrupted run keeps what it measured.
            FIGURES.write_text(json.dumps(runs, indent=1) + "\n")
            PAGE.write_text(render(runs))
    PAGE.write_text(render(runs))
    print(f"wrote {PAGE}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
