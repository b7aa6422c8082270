"""A sweep's schedule, taken one step at a time on a worker (task sweeps.step).

A step runs when the sweep is created, when one of its trials' jobs ends, and every 30 s
(beat), under a lock on the sweep's row, so two steps never decide at once. It records the
validation metric of finished trials, starts trials while fewer than `parallel` run (and the
owner's quota has room: a trial is never refused for the quota, it waits for the next step),
and once the budget is spent and no trial runs, picks the winner on validation alone and
evaluates it, and only it, on the test split.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from builder.models import Architecture
from sweeps import search
from sweeps.models import Sweep, SweepTrial
from sweeps.outcome import kept_value
from sweeps.services import send_step
from sweeps.space import apply_layer_params, trial_settings
from webapp.celery import app
from workers.models import Artifact, TrainingJob
from workers.services import JobRejected, submit_job

log = logging.getLogger(__name__)
Status = TrainingJob.Status


def step(sweep_id: int) -> str:
    conclude = False
    with transaction.atomic():
        sweep = Sweep.objects.select_for_update().filter(pk=sweep_id, status=Sweep.Status.RUNNING).first()
        if sweep is None:
            return "not running"
        trials = list(sweep.trials.select_related("job").prefetch_related("job__metrics"))
        settle(sweep, trials)
        running = sum(1 for t in trials if t.job is not None and t.job.status in TrainingJob.ACTIVE)
        out_of_time = sweep.max_seconds is not None and (
            (timezone.now() - sweep.created).total_seconds() > sweep.max_seconds
        )
        remaining = 0 if out_of_time else sweep.max_trials - len(trials)
        while remaining > 0 and running < sweep.parallel and quota_room(sweep) > 0:
            trial = start_trial(sweep, trials)
            if trial is None:
                break  # the owner's quota filled meanwhile: the next step tries again
            trials.append(trial)
            remaining -= 1
            running += trial.job is not None
        if running == 0 and remaining <= 0:
            conclude = choose_winner(sweep, trials, out_of_time)
    if conclude:
        transaction.on_commit(lambda: app.send_task("sweeps.evaluate_winner", args=[sweep_id]))
    return "stepped"


def quota_room(sweep: Sweep) -> int:
    active = TrainingJob.objects.filter(owner_id=sweep.owner_id, status__in=TrainingJob.ACTIVE).count()
    return settings.LAYERLOOM_MAX_ACTIVE_JOBS - active


def settle(sweep: Sweep, trials: list[SweepTrial]) -> None:
    """Record the kept weights' validation metric of every trial that succeeded."""
    curves = search.curves(sweep)
    for trial in trials:
        if trial.job is not None and trial.job.status == Status.SUCCEEDED and trial.value is None:
            trial.value = kept_value(trial.job, curves.get(trial.job.pk, {}))
            if trial.value is not None:
                SweepTrial.objects.filter(pk=trial.pk).update(value=trial.value)


def start_trial(sweep: Sweep, trials: list[SweepTrial]) -> SweepTrial | None:
    """The next trial and its job, queued like any job (None when the owner's quota is full)."""
    number = len(trials)
    params = search.next_params(sweep, trials)
    arch = sweep.architecture(params.get("architecture"))
    spec = apply_layer_params(arch["spec"], params)
    hp = trial_settings(params, sweep.hyperparameters)
    trial = SweepTrial(sweep=sweep, number=number, params=params)
    try:
        with transaction.atomic():
            job = submit_job(sweep.owner, spec=spec, dataset=sweep.dataset, framework=sweep.framework,
                             hyperparameters=hp)  # fmt: skip
            trial.job = job
            trial.save()
            if Architecture.objects.filter(pk=arch["id"], owner_id=sweep.owner_id).exists():
                TrainingJob.objects.filter(pk=job.pk).update(architecture_id=arch["id"])
    except JobRejected as exc:
        if "quota" in exc.field_errors:
            return None
        trial.job, trial.error = None, f"Not started: {exc}"[:2000]
        trial.save()
    return trial


def choose_winner(sweep: Sweep, trials: list[SweepTrial], out_of_time: bool) -> bool:
    """The best validation metric among the trials that succeeded; True when there is one to evaluate."""
    done = [t for t in trials if t.value is not None and t.job is not None and t.job.status == Status.SUCCEEDED]
    why = f"the time budget ({sweep.max_seconds} s) ran out" if out_of_time else f"{len(trials)} trials ran"
    if not done:
        Sweep.objects.filter(pk=sweep.pk).update(
            status=Sweep.Status.FAILED, finished_at=timezone.now(),
            note=f"Ended when {why}, but no trial succeeded, so there is no winner.",
        )  # fmt: skip
        return False
    sign = 1 if sweep.direction == "minimize" else -1
    best = min(done, key=lambda t: (sign * float(t.value or 0.0), t.number))
    Sweep.objects.filter(pk=sweep.pk).update(
        status=Sweep.Status.EVALUATING, winner=best.job,
        note=f"Ended when {why}. Trial {best.number} (job {best.job_id}) has the best {sweep.metric} on the "
        f"validation split ({best.value:.6g}); it alone is evaluated on the test split.",
    )  # fmt: skip
    return True


def evaluate_winner(sweep_id: int) -> str:
    """The winner's exported ONNX model (the file its endpoint would serve) on the test split: the
    sweep's one look at the test data. Its evaluation and test predictions are saved on its job."""
    sweep = Sweep.objects.filter(pk=sweep_id, status=Sweep.Status.EVALUATING).select_related("winner").first()
    if sweep is None or sweep.winner is None:
        return "nothing to evaluate"
    job = sweep.winner
    try:
        evaluation = evaluate_on_test(job)
    except Exception as exc:  # noqa: BLE001 - the sweep says why instead of hanging in "evaluating"
        log.exception("sweep %s: the winner's evaluation failed", sweep_id)
        note = f"{sweep.note} Its evaluation on the test split failed: {type(exc).__name__}: {exc}"[:4000]
        Sweep.objects.filter(pk=sweep_id).update(status=Sweep.Status.FAILED, finished_at=timezone.now(), note=note)
        return "failed"
    metric = _headline(evaluation)
    note = f"{sweep.note} On the test split: {metric}." if metric else sweep.note
    Sweep.objects.filter(pk=sweep_id, status=Sweep.Status.EVALUATING).update(
        status=Sweep.Status.FINISHED, finished_at=timezone.now(), note=note
    )
    return "evaluated"


def evaluate_on_test(job: TrainingJob) -> dict[str, Any]:
    from serving.sessions import load, onnx_identity
    from workers.training import artifacts
    from workers.training.context import JobContext
    from workers.training.runner import evaluate

    artifact_id, _ = onnx_identity(job)
    model = load(job, Artifact.objects.get(pk=artifact_id))
    ctx = JobContext.from_job(job)
    test = ctx.split("test")
    size = max(256, ctx.hp.inference_batch_size)
    parts = [model.run(test.X[i : i + size]) for i in range(0, len(test.X), size)]
    outputs = np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, 1))
    evaluation = evaluate(ctx, test, outputs)
    evaluation["model"] = "onnx"  # the exported file that serving and a published endpoint answer with
    TrainingJob.objects.filter(pk=job.pk, status=Status.SUCCEEDED).update(evaluation=evaluation)
    artifacts.record_test_predictions(job.pk, ctx, test.ids, outputs)
    return evaluation


def _headline(evaluation: dict[str, Any]) -> str:
    for key in ("accuracy", "rmse", "mae", "loss"):
        if isinstance(evaluation.get(key), int | float):
            return f"{key} {evaluation[key]:.4g}"
    return ""


def step_all() -> list[int]:
    """Periodic: a step for every running sweep (a time budget, a quota that freed, a lost message)."""
    ids = list(Sweep.objects.filter(status=Sweep.Status.RUNNING).values_list("pk", flat=True))
    for sweep_id in ids:
        send_step(sweep_id)
    return ids
