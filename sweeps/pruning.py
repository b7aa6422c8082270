"""Inside a trial's training process: after each epoch's metrics are published, ask the sweep's
pruner whether the trial is behind the others (workers.training.reporter calls the check on the
thread that writes the epoch; a "pruned" answer stops training at the next batch, as a cancel does)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sweeps.models import Sweep, SweepTrial

log = logging.getLogger(__name__)


def epoch_check(job_id: int) -> Callable[[int, dict[str, Any]], str | None] | None:
    """The check for a trial's job (None for a sweep without pruning)."""
    trial = SweepTrial.objects.select_related("sweep", "job").filter(job_id=job_id).first()
    if trial is None or trial.sweep.pruner == Sweep.Pruner.NONE:
        return None
    from sweeps import search  # Optuna, loaded before the first epoch rather than during it

    def check(epoch: int, values: dict[str, Any]) -> str | None:
        if not isinstance(values.get(trial.sweep.metric), int | float):
            return None
        try:
            return "pruned" if search.should_prune(trial.sweep, trial) else None
        except Exception:  # noqa: BLE001 - a failed check must not fail the trial: it trains on
            log.warning("job %s: the pruning check failed at epoch %s", job_id, epoch, exc_info=True)
            return None

    return check
