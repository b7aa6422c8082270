"""Training rules shared by the Layerloom job runners and the code bundle's train.py.

The learning rate of each epoch and the balanced class weights are computed here, once,
in plain Python and numpy, so a Keras job, a torch job and the bundle's train.py (which
ships this file as schedules.py) follow exactly the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SCHEDULES = ("none", "reduce_on_plateau", "cosine")
PLATEAU_FACTOR = 0.5  # reduce_on_plateau multiplies the rate by this...
PLATEAU_PATIENCE = 5  # ...after this many epochs without a better monitored loss
PLATEAU_MIN_DELTA = 1e-4  # relative: a loss must drop below best * (1 - this) to count as better
MIN_LR_FRACTION = 1e-3  # the rate never falls below this fraction of the starting rate


class LearningRate:
    """The learning rate for each epoch; reduce_on_plateau learns from each epoch's loss."""

    def __init__(self, schedule: str, base: float, epochs: int) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, not {schedule!r}")
        self.schedule, self.base, self.epochs = schedule, float(base), max(1, int(epochs))
        self.current = self.base
        self.best: float | None = None
        self.wait = 0

    def for_epoch(self, epoch: int) -> float:
        """The rate to train epoch `epoch` (0-based) with."""
        if self.schedule == "cosine":
            self.current = self.base * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return self.current

    def epoch_end(self, loss: float | None) -> None:
        """Record the monitored loss (validation loss, or the training loss without a validation split)."""
        if self.schedule != "reduce_on_plateau" or loss is None or not math.isfinite(loss):
            return
        if self.best is None or loss < self.best - math.fabs(self.best) * PLATEAU_MIN_DELTA:
            self.best, self.wait = loss, 0
            return
        self.wait += 1
        if self.wait >= PLATEAU_PATIENCE:
            self.current = max(self.current * PLATEAU_FACTOR, self.base * MIN_LR_FRACTION)
            self.wait = 0

    def state(self) -> dict[str, Any]:
        return {"current": self.current, "best": self.best, "wait": self.wait}

    def load(self, state: dict[str, Any]) -> None:
        self.current = float(state.get("current", self.base))
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))


def balanced_class_weights(y: np.ndarray, n_classes: int) -> list[float]:
    """rows / (classes present x rows of the class), scikit-learn's "balanced"; 1 for an absent class."""
    labels = np.asarray(y).astype(np.int64).reshape(-1)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = int(np.count_nonzero(counts))
    weights = np.ones(n_classes, dtype=np.float64)
    np.divide(len(labels), present * counts, out=weights, where=counts > 0)
    return weights.tolist()
