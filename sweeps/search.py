"""Optuna's samplers and pruner over a sweep's rows (worker side: the web process never imports this).

The database is the one store: for each decision an in-memory Optuna study is rebuilt from
the sweep's trials (their settings, the per-epoch validation metric each trial's job
published, and how it ended) and asked. Random and TPE sampling are seeded with the sweep's
seed plus the trial's number, so a sweep asks the same questions whichever worker answers.
A grid is walked in a fixed order (sweeps.space.grid_points).
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from sweeps.models import Sweep, SweepTrial
from sweeps.outcome import kept_value
from sweeps.space import Choice, Range, check_space, grid_points
from workers.models import Metric, TrainingJob

optuna.logging.set_verbosity(optuna.logging.WARNING)
Status = TrainingJob.Status
# A trial is compared with others only once this many have completed, and not before its second epoch.
PRUNE_AFTER_TRIALS = 2
PRUNE_WARMUP_EPOCHS = 2  # optuna prunes from step n_warmup_steps: not at the first epoch


def dimensions(sweep: Sweep) -> dict[str, Any]:
    return check_space(sweep.space, sweep.architectures, sweep.hyperparameters, sweep.method)


def distributions(sweep: Sweep) -> dict[str, BaseDistribution]:
    out: dict[str, BaseDistribution] = {}
    for name, dim in dimensions(sweep).items():
        if isinstance(dim, Choice):
            out[name] = CategoricalDistribution(dim.values)
        elif isinstance(dim, Range) and dim.integer:
            out[name] = IntDistribution(int(dim.low), int(dim.high), log=dim.log, step=int(dim.step or 1))
        else:
            assert isinstance(dim, Range)
            out[name] = FloatDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
    return out


def curves(sweep: Sweep) -> dict[int, dict[int, float]]:
    """{job id: {epoch: the sweep's metric}} for every trial's job, from its published metric rows."""
    rows = Metric.objects.filter(job__sweep_trial__sweep=sweep).values_list("job_id", "epoch", "values")
    out: dict[int, dict[int, float]] = {}
    for job_id, epoch, values in rows:
        value = (values or {}).get(sweep.metric)
        if isinstance(value, int | float):
            out.setdefault(job_id, {})[epoch] = float(value)
    return out


def study_of(sweep: Sweep, trials: list[SweepTrial], number: int) -> optuna.Study:
    """An in-memory study holding the sweep's finished trials, its sampler seeded for trial `number`."""
    seed = sweep.seed + number
    sampler: optuna.samplers.BaseSampler
    if sweep.method == Sweep.Method.TPE:
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, max(2, sweep.max_trials // 3)))
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS, n_warmup_steps=PRUNE_WARMUP_EPOCHS)
    study = optuna.create_study(direction=sweep.direction, sampler=sampler, pruner=pruner)
    dists = distributions(sweep)
    by_job = curves(sweep)
    for trial in trials:
        job = trial.job
        if job is None or not set(trial.params) <= set(dists) or job.status in TrainingJob.ACTIVE:
            continue
        curve = by_job.get(job.pk, {})
        value = trial.value if trial.value is not None else kept_value(job, curve)
        if job.status == Status.SUCCEEDED and value is not None:
            state = TrialState.COMPLETE
        elif job.status == Status.PRUNED:
            state, value = TrialState.PRUNED, None
        else:
            state, value = TrialState.FAIL, None
        study.add_trial(create_trial(params=trial.params, distributions={k: dists[k] for k in trial.params},
                                     value=value, state=state, intermediate_values=curve))  # fmt: skip
    return study


def next_params(sweep: Sweep, trials: list[SweepTrial]) -> dict[str, Any]:
    """The settings of the sweep's next trial (number len(trials))."""
    number = len(trials)
    if sweep.method == Sweep.Method.GRID:
        return grid_points(dimensions(sweep))[number]
    asked = study_of(sweep, trials, number).ask(distributions(sweep))
    return dict(asked.params)


def should_prune(sweep: Sweep, trial: SweepTrial) -> bool:
    """Optuna's median rule on the running trial's published curve against the finished trials'."""
    if sweep.pruner == Sweep.Pruner.NONE or trial.job is None:
        return False
    others = list(sweep.trials.select_related("job").exclude(pk=trial.pk))
    study = study_of(sweep, others, trial.number)
    curve = curves(sweep).get(trial.job.pk, {})
    if not curve:
        return False
    dists = distributions(sweep)
    running: FrozenTrial = create_trial(
        params=trial.params, distributions={k: dists[k] for k in trial.params if k in dists},
        state=TrialState.RUNNING, intermediate_values=curve,
    )  # fmt: skip
    return bool(study.pruner.prune(study, running))
