"""One job, start to finish, inside the child process: train, evaluate, export, record.

Every write is filtered on this run's token, so a run that lost the job (requeued by an
operator, taken over after a stale heartbeat) changes nothing.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.conf import settings

from webapp import filestore
from workers.lifecycle import finish, update_run
from workers.models import TrainingJob
from workers.retention import remove_finished_checkpoint
from workers.training import artifacts
from workers.training.backends import backend_class
from workers.training.context import JobContext, JobError, Split
from workers.training.reporter import Reporter
from workers.training.tensorboard_logs import JobLogWriter

log = logging.getLogger(__name__)
Status = TrainingJob.Status


def run(job_id: int, token: str) -> int:
    job = TrainingJob.objects.select_related("dataset").get(pk=job_id)
    if job.run_token != token or job.status != Status.RUNNING:
        return 0
    ctx = JobContext.from_job(job)
    ctx.job_dir.mkdir(parents=True, exist_ok=True)
    reporter: Reporter | None = None
    # A sweep's trial is compared on validation only: it never reads the test split (the sweep
    # evaluates its winner alone on it, sweeps.scheduler), and its pruner may stop it early.
    trial = TrainingJob.objects.filter(pk=job_id, sweep_trial__isnull=False).exists()
    try:
        train_split, val = ctx.split("train", scaled=True), ctx.split("val", scaled=True)
        if TrainingJob.objects.filter(pk=job_id, retrain_of_sweep__isnull=False).exists():
            train_split, val = _train_and_validation(train_split, val)  # a sweep's winner, retrained
        test = None if trial else ctx.split("test")
        batches = -(-len(train_split.X) // ctx.hp.batch_size)
        logs = JobLogWriter.for_job(ctx.tensorboard_dir, job_id, job.dataset.name, ctx.framework, ctx.hp.model_dump())
        reporter = Reporter(job_id, token, ctx.hp.epochs, batches, logs, epoch_check=_trial_check(job_id, trial))
        backend = backend_class(ctx.framework)(ctx)
        _update(job_id, token, device_name=backend.device_name, total_epochs=ctx.hp.epochs, batches_per_epoch=batches)
        reporter.start()
        # Everything alive now (Django, the framework, the data) lives until the process ends:
        # freezing it keeps the collector's full passes, which otherwise rescan those hundreds
        # of thousands of objects (about 0.15 s each here), out of the training loop.
        gc.freeze()
        with memory_cap():
            model, resumed = backend.train(train_split, val, reporter)
        if resumed:
            _update(job_id, token, resumed_from_epoch=resumed)
        if reporter.stop_reason == "cancelled":
            artifacts.record_logs(job_id, ctx)
            return _finish(job_id, token, Status.CANCELLED, "Cancelled while running; metrics so far are kept.")
        if reporter.stop_reason == "pruned":
            artifacts.record_logs(job_id, ctx)
            return _finish(job_id, token, Status.PRUNED, f"Stopped after epoch {reporter.epoch} by its sweep's "
                           "pruner: its validation metric was behind the other trials' at the same epoch.")  # fmt: skip
        if reporter.should_stop:
            return 0  # orphaned or lost: the run that owns the job now records the result
        if test is None:  # a sweep's trial: its model is exported (for the winner's evaluation), not evaluated
            artifacts.record_logs(job_id, ctx)
            sample = val.X if len(val.X) else train_split.X
            artifacts.export(job_id, ctx, backend.exportable(model), sample[: min(len(sample), 256)])
            return _finish(job_id, token, Status.SUCCEEDED, "")
        outputs = backend.predict(model, test.X)
        evaluation = evaluate(ctx, test, outputs)
        _update(job_id, token, evaluation=evaluation)
        artifacts.record_test_predictions(job_id, ctx, test.ids, outputs)
        artifacts.record_logs(job_id, ctx)
        artifacts.export(job_id, ctx, backend.exportable(model), test.X[: min(len(test.X), 256)])
        return _finish(job_id, token, Status.SUCCEEDED, "")
    except JobError as exc:
        return _finish(job_id, token, Status.FAILED, str(exc))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message on the job
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
        batch = ctx.hp.batch_size
        if is_out_of_memory(exc):
            return _finish(job_id, token, Status.FAILED, out_of_memory_message(exc, batch, _device(job_id)))
        return _finish(job_id, token, Status.FAILED, f"Training failed: {type(exc).__name__}: {exc}"[:2000])
    finally:
        if reporter is not None:
            reporter.stop()


def evaluate(ctx: JobContext, test: Any, outputs: np.ndarray) -> dict[str, Any]:
    from workers.training.evaluation import evaluate as compute
    from workers.training.evaluation import save_predictions

    units = ctx.target_units(outputs)  # regression: the model learned a standardised target
    result = compute(ctx.task, test.y, units, ctx.output_kind, ctx.class_names, test.ids)
    try:  # only the job page's per-cell example lists need them: their loss must not fail the job
        filestore.push_file(save_predictions(ctx.job_dir / "evaluation", ctx.task, units, ctx.output_kind))
    except Exception:  # noqa: BLE001 - a full disk or an unreachable store alike
        log.warning("job %s: per-example predictions not saved", ctx.job_id, exc_info=True)
    result["split"] = "test"
    result["baselines"] = baselines(ctx, result)
    return result


def baselines(ctx: JobContext, evaluation: dict[str, Any]) -> dict[str, Any]:
    """What simple models get on the same test rows; their failure must not fail a trained job."""
    from workers.training.baselines import compute  # scikit-learn: loaded once the model is trained

    try:
        return compute(ctx, evaluation)
    except Exception as exc:  # noqa: BLE001 - the job's own evaluation stands without them
        log.warning("job %s: baselines not computed", ctx.job_id, exc_info=True)
        return {"models": [], "notes": [f"The baselines could not be computed: {type(exc).__name__}: {exc}"[:300]]}


@contextmanager
def memory_cap() -> Iterator[None]:
    """LAYERLOOM_JOB_MEMORY_LIMIT_MB: room the training may allocate beyond what the job holds now.

    Applied after the framework and the data are loaded (their reserved address space is
    not the job's to pay for); an allocation past it fails with MemoryError, reported as
    out of memory instead of the machine swapping or the OOM killer choosing a victim.
    Lifted when training ends: OpenBLAS (numpy's and scipy's, which the evaluation's
    baselines use) retries a failed allocation of its buffer forever, which would leave the
    job running with no end; its first buffer is taken before the cap for the same reason.
    """
    extra = settings.LAYERLOOM_JOB_MEMORY_LIMIT_MB
    if extra <= 0:
        yield
        return
    _take_blas_buffers()
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[0])
    current = pages * os.sysconf("SC_PAGE_SIZE")
    before = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (current + extra * 1024 * 1024, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, before)


def _take_blas_buffers() -> None:
    """One small call into numpy's and scipy's OpenBLAS: each allocates its work buffer on its first
    call and reuses it on the next ones."""
    import scipy.linalg  # the evaluation's baselines load it anyway (scikit-learn)

    square = np.eye(8)
    scipy.linalg.cho_factor(square @ square)


OOM_MARKERS = ("out of memory", "can't allocate memory", "resource exhausted", "oom when allocating",
               "failed to allocate", "std::bad_alloc")  # fmt: skip


def is_out_of_memory(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError) or type(seen).__name__ in {"OutOfMemoryError", "ResourceExhaustedError"}:
            return True
        if any(marker in str(seen).lower() for marker in OOM_MARKERS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def out_of_memory_message(exc: BaseException, batch_size: int, device: str) -> str:
    smaller = max(1, batch_size // 2)
    where = device or "this worker"
    return (
        f"Out of memory on {where} with batch size {batch_size}: the model's activations for one batch "
        f"did not fit. Try a batch size of {smaller} or less, or a smaller model. ({type(exc).__name__})"
    )


def _train_and_validation(train: Split, val: Split) -> tuple[Split, Split]:
    """Both splits' rows to train on and none to validate on (its epochs were chosen by the sweep)."""
    ids = None if train.ids is None or val.ids is None else np.concatenate([train.ids, val.ids])
    merged = Split(np.concatenate([train.X, val.X]), np.concatenate([train.y, val.y]), ids)
    return merged, Split(val.X[:0], val.y[:0], None if val.ids is None else val.ids[:0])


def _trial_check(job_id: int, trial: bool) -> Any:
    """A sweep trial's pruning check (sweeps.pruning), or None for an ordinary job."""
    if not trial:
        return None
    from sweeps.pruning import epoch_check

    return epoch_check(job_id)


def _device(job_id: int) -> str:
    return TrainingJob.objects.filter(pk=job_id).values_list("device_name", flat=True).first() or ""


def _update(job_id: int, token: str, **fields: Any) -> None:
    update_run(job_id, token, **fields)


def _finish(job_id: int, token: str, status: str, error: str) -> int:
    finish(job_id, token, status, error)
    remove_finished_checkpoint(job_id)
    return 0
