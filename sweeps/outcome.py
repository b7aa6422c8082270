"""What a finished trial kept (pure: the web process and the workers read it alike)."""

from __future__ import annotations

from workers.models import TrainingJob


def kept_epoch(job: TrainingJob) -> int | None:
    """The epoch whose weights the job ended with: the lowest validation loss when it restores its
    best weights (workers.training.bookkeeping), else its last epoch; None before any epoch."""
    losses = {m.epoch: m.values.get("val_loss") for m in job.metrics.all()}
    if not losses:
        return None
    hp = job.hyperparameters or {}
    if hp.get("restore_best_weights", True) and hp.get("patience", 15) is not None:
        scored = [e for e, loss in losses.items() if isinstance(loss, int | float)]
        if scored:
            return min(scored, key=lambda e: (losses[e], e))
    return max(losses)


def kept_value(job: TrainingJob, curve: dict[int, float]) -> float | None:
    """The sweep's metric (curve: {epoch: value}) of the weights the trial kept."""
    epoch = kept_epoch(job)
    if not curve or epoch is None:
        return None
    return curve.get(epoch, curve[max(curve)])
