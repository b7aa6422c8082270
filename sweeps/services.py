"""What each action on a sweep means: create, cancel, publish the winner (the API, the admin and
the pages call these). Web side: no Optuna here; the schedule runs on a worker (sweeps.scheduler)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from builder.models import Architecture, Dataset
from sweeps.models import Sweep
from sweeps.space import SpaceRejected, apply_layer_params, check_metric, check_space, grid_size, trial_settings
from webapp.celery import app
from workers import lifecycle
from workers.hyperparameters import Hyperparameters, field_errors, parse_hyperparameters
from workers.lifecycle import JobStateError
from workers.models import TrainingJob
from workers.services import JobRejected, check_job, submit_job

log = logging.getLogger(__name__)
MAX_TRIALS = 200
MAX_ARCHITECTURES = 5


def create_sweep(owner: Any, *, dataset: Dataset, architectures: list[Architecture], framework: str,
                 space: Any, hyperparameters: dict[str, Any] | None = None, method: str = "random",
                 metric: str = "val_loss", max_trials: int | None = None, max_seconds: int | None = None,
                 parallel: int = 2, pruner: str = "median", seed: int = 0, name: str = "") -> Sweep:  # fmt: skip
    """Check everything a trial will get checked for, create the sweep and start its schedule on commit.

    Raises SpaceRejected ({field: [messages]}) for bad input: nothing is created.
    """
    base = dict(hyperparameters or {})
    errors: dict[str, list[str]] = {}
    if not architectures or len(architectures) > MAX_ARCHITECTURES:
        errors["architectures"] = [f"Choose 1 to {MAX_ARCHITECTURES} of your architectures."]
    if method not in Sweep.Method.values:
        errors["method"] = [f"Choose one of {', '.join(Sweep.Method.values)}."]
    if pruner not in Sweep.Pruner.values:
        errors["pruner"] = [f"Choose one of {', '.join(Sweep.Pruner.values)}."]
    limit = settings.LAYERLOOM_MAX_ACTIVE_JOBS
    if not 1 <= parallel <= limit:
        errors["parallel"] = [f"Run 1 to {limit} trials at once (your limit of queued and running jobs)."]
    if max_trials is not None and not 1 <= max_trials <= MAX_TRIALS:
        errors["max_trials"] = [f"Give 1 to {MAX_TRIALS} trials."]
    if max_seconds is not None and max_seconds < 1:
        errors["max_seconds"] = ["Give a positive number of seconds, or leave it out for no time limit."]
    frozen = [{"id": a.pk, "name": a.name, "spec": dict(a.spec)} for a in architectures]
    direction = "minimize"
    try:
        direction = check_metric(metric, dataset.task or "classification")
    except SpaceRejected as exc:
        errors.update(exc.field_errors)
    try:
        parse_hyperparameters(base)
    except ValidationError as exc:
        errors.update({_field(k): v for k, v in field_errors(exc).items()})
    if errors:
        raise SpaceRejected(errors)
    dims = check_space(space, frozen, base, method)
    for arch in frozen:  # what every trial would be refused for: the job's own checks, named as for a job
        try:
            check_job(architecture=None, spec=apply_layer_params(arch["spec"], {}), dataset=dataset,
                      framework=framework, hyperparameters=trial_settings({}, base))  # fmt: skip
        except JobRejected as exc:
            raise SpaceRejected({_field(k): v for k, v in exc.field_errors.items()}) from None
    trials = max_trials or 10
    if method == Sweep.Method.GRID:
        trials = min(max_trials or MAX_TRIALS, grid_size(dims))
    with transaction.atomic():
        sweep = Sweep.objects.create(
            owner=owner, name=name[:200], dataset=dataset, framework=framework, architectures=frozen, method=method,
            space=space, hyperparameters=base, metric=metric, direction=direction, seed=seed, max_trials=trials,
            max_seconds=max_seconds, parallel=parallel, pruner=pruner,
        )  # fmt: skip
        transaction.on_commit(lambda: send_step(sweep.pk))
    return sweep


def _field(name: str) -> str:
    return f"hyperparameters.{name}" if name.split(".")[0] in Hyperparameters.model_fields else name


def send_step(sweep_id: int) -> None:
    """Ask a worker to take the sweep's next decisions (a duplicate is harmless: each step locks the sweep)."""
    try:
        app.send_task("sweeps.step", args=[sweep_id])
    except Exception:  # noqa: BLE001 - the periodic step (every 30 s) sends it when the broker is back
        log.exception("sweep %s: its step was not sent; the periodic step will", sweep_id)


def job_ended(job_id: int) -> None:
    """A trial's job ended (workers.lifecycle calls this on commit): its sweep takes its next step."""
    sweep_id = TrainingJob.objects.filter(pk=job_id).values_list("sweep_trial__sweep_id", flat=True).first()
    if sweep_id is not None:
        send_step(sweep_id)


def cancel_sweep(sweep: Sweep) -> Sweep:
    """No more trials start, and every queued or running trial is cancelled."""
    with transaction.atomic():
        took = Sweep.objects.filter(pk=sweep.pk, status__in=Sweep.ACTIVE).update(
            status=Sweep.Status.CANCELLED, finished_at=timezone.now(), note="Cancelled; no winner was chosen."
        )
    if not took:
        sweep.refresh_from_db()
        raise JobStateError(f"Sweep {sweep.pk} has already ended ({sweep.status}); there is nothing to cancel.")
    for job in TrainingJob.objects.filter(sweep_trial__sweep=sweep, status__in=TrainingJob.ACTIVE):
        try:
            lifecycle.cancel(job)
        except JobStateError:
            continue  # it ended meanwhile
    sweep.refresh_from_db()
    return sweep


def retrain_winner(sweep: Sweep) -> TrainingJob:
    """The winner's spec and settings trained again on the training and validation rows together,
    for as many epochs as the winner kept (no early stopping: nothing is left to validate on); an
    ordinary job, evaluated on the test split. Once per sweep; JobStateError before it has finished."""
    from sweeps.outcome import kept_epoch

    with transaction.atomic():
        locked = Sweep.objects.select_for_update().get(pk=sweep.pk)
        if locked.status != Sweep.Status.FINISHED or locked.winner is None:
            raise JobStateError(f"Sweep {sweep.pk} is {locked.status}: only a finished sweep's winner is retrained.")
        if locked.retrained_id is not None:
            raise JobStateError(f"Sweep {sweep.pk}'s winner is already retrained as job {locked.retrained_id}.")
        winner = locked.winner
        epochs = kept_epoch(winner) or (winner.hyperparameters or {}).get("epochs")
        hp = {**(winner.hyperparameters or {}), "epochs": epochs, "patience": None}
        job = submit_job(locked.owner, spec=winner.spec, dataset=locked.dataset, framework=winner.framework,
                         hyperparameters=hp)  # fmt: skip
        TrainingJob.objects.filter(pk=job.pk).update(architecture_id=winner.architecture_id)
        Sweep.objects.filter(pk=sweep.pk).update(retrained=job)
    sweep.refresh_from_db()
    job.refresh_from_db()
    return job
