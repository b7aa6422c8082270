"""A dry run: a few real training batches of an architecture on a dataset, to estimate an
epoch's time and the training's peak memory before anyone commits to hours.

Like a job, it runs in a child process (`python -m workers.training.dryrun`), the only
process that imports TensorFlow or torch; the Celery task that starts it and the web process
that asks for it never do. The child reads one JSON request on stdin and writes one JSON
answer on stdout. Nothing is stored: the model is built in a temporary folder that is removed.

Measured: the mean time of DRY_RUN_BATCHES training steps after one warm-up step (which pays
for graph tracing and first-use costs), times the batches in an epoch; validation passes are
not counted. Peak memory is the device's peak allocation on a GPU, or on the CPU the growth of
the process's peak resident size from just before the framework is imported, split into the
framework's runtime and what building and training the model added (_memory).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from workers.training.backends import threads

DRY_RUN_BATCHES = 5
CHILD_TIMEOUT_SECONDS = 240
ROOT = Path(__file__).resolve().parents[2]


class DryRunError(Exception):
    """The dry run could not measure; the message is written for a person."""


def run_in_child(request: dict[str, Any], timeout: float = CHILD_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Start the child, hand it the request, return its answer (or raise DryRunError)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "workers.training.dryrun"], input=json.dumps(request), capture_output=True,
            text=True, cwd=ROOT, timeout=timeout, env=threads.child_environment(os.environ, threads.configured_threads()),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise DryRunError(f"The dry run took longer than {timeout:.0f} seconds; the model is very slow here.") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise DryRunError(f"The dry run failed: {tail[0][:500]}")
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise DryRunError(answer["error"])
    return answer


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """In the child: build the model as a job would and time a few training steps."""
    from builder.datasets.arrays import load_split
    from builder.models import Dataset
    from workers.hyperparameters import parse_hyperparameters
    from workers.training.backends import backend_class
    from workers.training.context import JobContext, Split

    dataset = Dataset.objects.get(pk=request["dataset"])
    hp = parse_hyperparameters(request["hyperparameters"])
    with tempfile.TemporaryDirectory(prefix="layerloom-dryrun-") as tmp:
        probe = JobContext(
            job_id=0, framework=request["framework"], spec=request["spec"], hp=hp, task="", class_names=[],
            output_kind="", loss="", input_dtype="", dataset_dir=dataset.stored_version_dir(), job_dir=Path(tmp),
            checkpoint_owner={},  # a dry run writes no checkpoint
        )  # fmt: skip
        ctx = _context_like_a_job(probe, dataset)
        X, _ = load_split(ctx.dataset_dir, "train", mmap=True)
        rows = len(X)
        take = min(rows, hp.batch_size * (DRY_RUN_BATCHES + 1))
        full = ctx.split("train")
        head = Split(full.X[:take], full.y[:take], None)
        # A job holds its training and validation splits in memory, in these dtypes.
        val_rows = (
            len(load_split(ctx.dataset_dir, "val", mmap=True)[0]) if (ctx.dataset_dir / "X_val.npy").exists() else 0
        )
        data_bytes = (full.X.nbytes + full.y.nbytes) * (rows + val_rows) // max(1, rows)
        steps = max(1, -(-take // hp.batch_size))
        batches_per_epoch = max(1, -(-rows // hp.batch_size))
        before = _resident()
        backend = backend_class(ctx.framework)(ctx)  # imports the framework and sets the device up
        loaded = _resident()
        times, device_peak = backend.timed_steps(head)
        device = backend.device_name
        peak = _peak_rss()
    timed = times[1:] or times  # the first step pays for tracing and first use
    per_batch = sum(timed) / len(timed)
    return {
        "framework": ctx.framework, "device": device, "batch_size": hp.batch_size, "batches_measured": len(timed),
        "steps_run": steps, "seconds_per_batch": per_batch, "batches_per_epoch": batches_per_epoch,
        "seconds_per_epoch": per_batch * batches_per_epoch, "first_step_seconds": times[0],
        **_memory(before, loaded, peak, device_peak), "data_memory_bytes": data_bytes,
    }  # fmt: skip


def _memory(before: int, loaded: int, peak: int, device_peak: int | None) -> dict[str, Any]:
    """The peak, and what it is made of. On a GPU: the device's peak allocation, all of it the
    model's training (the framework's own context is not allocated through it). On the CPU: the
    process's peak resident size above what it held before the framework was imported, in two
    parts: the framework's runtime (what the process holds once it is imported and the device
    set up, paid once per job whatever the model) and building and training the model (the peak
    above that: weights, gradients, optimizer state, a batch's activations, and the framework's
    workspaces and caches for them)."""
    if device_peak is not None:
        return {"peak_memory_bytes": device_peak, "memory_measured_on": "gpu", "runtime_memory_bytes": None,
                "training_memory_bytes": device_peak}  # fmt: skip
    runtime = max(0, loaded - before)
    training = max(0, peak - loaded)
    return {"peak_memory_bytes": runtime + training, "memory_measured_on": "cpu", "runtime_memory_bytes": runtime,
            "training_memory_bytes": training}  # fmt: skip


def _context_like_a_job(probe: Any, dataset: Any) -> Any:
    """The JobContext a job of this request would get (task, loss, output kind, dtypes)."""
    from builder.codegen.scripts import output_kind, output_units
    from builder.spec import resolve

    resolved = resolve(probe.spec)
    task = dataset.task or "classification"
    probe.task, probe.output_kind, probe.input_dtype = task, output_kind(resolved), resolved.input_dtype
    probe.class_names = [str(c) for c in dataset.class_names or []]
    probe.loss = probe.hp.resolved_loss(task, output_units(resolved))
    return probe


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def _resident() -> int:
    """The process's resident size now (Linux /proc); the peak where it cannot be read."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return _peak_rss()
    return pages * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    import django

    django.setup()
    from workers.training.context import JobError

    request = json.loads(sys.stdin.read())
    try:
        answer = measure(request)
    except JobError as exc:
        answer = {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message for the person
        from workers.training.runner import is_out_of_memory, out_of_memory_message

        if is_out_of_memory(exc):
            answer = {"error": out_of_memory_message(exc, int(request["hyperparameters"].get("batch_size", 32)), "")}
        else:
            answer = {"error": f"The dry run failed: {type(exc).__name__}: {exc}"[:1000]}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
