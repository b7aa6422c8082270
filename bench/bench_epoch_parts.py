"""Where a job's epoch goes: its parts, timed inside the real job path.

Runs one job in this process through `workers.training.runner.run` (the job process's own
entry, with the reporter thread, metrics, TensorBoard events and checkpoints; exports off)
and times, per epoch: the whole epoch (from one epoch's start to the next), the job's own
`epoch_seconds` (training only), and each piece of per-epoch work the runners do around it
(validation, copying the checkpoint's contents, handing writes to the writer thread; and on
that thread the metric row and progress write, the TensorBoard event, the checkpoint files).
What is left is the framework's own per-epoch work between them.

Run: .venv/bin/python bench/bench_epoch_parts.py [--framework keras|torch] [--model mlp|cnn] [--epochs 8]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training import CASES, job_hyperparameters, make_case_dataset  # noqa: E402 - sets up Django

from bench.figures import Figure, record  # noqa: E402

Parts = defaultdict[str, float]


def run(owner, framework: str, model: str, epochs: int) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    from workers.lifecycle import claim
    from workers.models import TrainingJob
    from workers.training import checkpoints, reporter, runner, tensorboard_logs

    case = CASES[model]
    ds = make_case_dataset(owner, model)
    job = TrainingJob.objects.create(owner=owner, spec=case.spec, dataset=ds, dataset_version=1, framework=framework,
                                     hyperparameters=job_hyperparameters(case, epochs))  # fmt: skip
    token = claim(job.pk, "bench")

    starts: list[float] = []
    parts: list[Parts] = []

    def begin() -> None:
        starts.append((time.perf_counter(), time.process_time()))
        parts.append(defaultdict(float))

    def timed(owner_: Any, name: str, label: str) -> None:
        original = getattr(owner_, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                if parts:
                    parts[-1][label] += time.perf_counter() - t
                    parts[-1][label + " (CPU)"] += time.process_time() - c

        setattr(owner_, name, wrapper)

    # Written on the background thread (their time is not the training thread's):
    timed(reporter.Reporter, "epoch_done", "[other thread] metric row + progress + event")
    timed(tensorboard_logs.JobLogWriter, "scalars", "[other thread]   of which TensorBoard event")
    timed(checkpoints, "save_state", "[other thread] checkpoint state.json")
    timed(checkpoints, "atomic_write", "[other thread] checkpoint and best-weight files")
    # On the training thread: handing the writes over (waits only when the writer is behind).
    timed(checkpoints.Background, "submit", "hand-over to the writer thread")
    from workers.training import epoch_clock

    original_init = epoch_clock.EpochClock.__init__

    def clock_init(self: Any) -> None:  # the shared bookkeeping starts each epoch's clock
        begin()
        original_init(self)

    epoch_clock.EpochClock.__init__ = clock_init  # type: ignore[method-assign]
    if framework == "keras":
        from workers.training import keras_runner as fw
        from workers.training.backends.keras import Report

        def on_test_begin(self: Any, logs: Any = None) -> None:
            self._val_started = time.perf_counter(), time.process_time()
            self.book.trained()

        def on_test_end(self: Any, logs: Any = None) -> None:
            parts[-1]["validation"] += time.perf_counter() - self._val_started[0]
            parts[-1]["validation (CPU)"] += time.process_time() - self._val_started[1]

        Report.on_test_begin, Report.on_test_end = on_test_begin, on_test_end  # type: ignore[method-assign]
        timed(Report, "on_epoch_end", "epoch-end callback (all)")
    else:
        from workers.training import torch_runner as fw  # type: ignore[no-redef]

        timed(fw, "evaluate_split", "validation")
        timed(fw.Seen, "values", "epoch metrics reduce")
    timed(fw, "checkpoint_writer", "checkpoint copy")
    timed(fw, "best_writer", "best weights copy")
    runner.run(job.pk, token)
    end = time.perf_counter(), time.process_time()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    recorded = [m.values for m in job.metrics.order_by("epoch")]
    ends = starts[1:] + [end]
    rows = []
    for i, (start, stop) in enumerate(zip(starts, ends, strict=True)):
        row = {
            "whole": stop[0] - start[0],
            "whole (CPU)": stop[1] - start[1],
            **parts[i],
            "epoch_seconds": recorded[i]["epoch_seconds"],
            "epoch_seconds (CPU)": recorded[i]["epoch_cpu_seconds"],
        }
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", default="keras")
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench-parts")
    import os

    print(f"load average {os.getloadavg()[0]:.2f}")
    rows = run(owner, args.framework, args.model, args.epochs)[1:-1]  # not the warm-up, nor the last (export)
    labels = sorted(
        {k for row in rows for k in row}, key=lambda k: (not k.startswith("whole"), not k.startswith("epoch_s"), k)
    )
    print(f"{args.framework} {args.model}: median seconds per epoch over {len(rows)} epochs")
    for label in labels:
        print(f"  {label:34} {statistics.median(row.get(label, 0.0) for row in rows):.4f}")
    for suffix in ("", " (CPU)"):
        outside = statistics.median(row["whole" + suffix] - row["epoch_seconds" + suffix] for row in rows)
        print(f"  {'outside epoch_seconds' + suffix:34} {outside:.4f}")
        whole = statistics.median(row["whole" + suffix] for row in rows)
        record(Figure(f"{args.framework} {args.model}: the job's own work around training per epoch{suffix}, median",
                      f"{outside:.4f} s", f"the whole epoch: {whole:.4f} s", outside / whole))  # fmt: skip


if __name__ == "__main__":
    main()
