"""What happens around every epoch, whatever the framework: written once, called by each backend.

At an epoch's start: the learning rate the schedule gives it, and the epoch's clock. After
each batch: progress and the cancel check. At its end: the metric row (times, samples per
second, regression metrics in the target's units), early stopping, the schedule's step, the
best weights so far and the checkpoint. At the end of training: the best weights restored.

The backend owns only the framework's side: the loop itself, and the `Snapshots` that copy
its model's state (which is all a checkpoint or the best weights need of it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from builder.codegen.scripts.schedules import LearningRate
from workers.training import checkpoints
from workers.training.context import JobContext, Split
from workers.training.epoch_clock import EpochClock
from workers.training.reporter import EarlyStopping, Reporter


class Snapshots(Protocol):
    """A framework's state copies, taken now and written later (on the background thread)."""

    def checkpoint(self, epoch: int, early: EarlyStopping, rate: LearningRate) -> Callable[[], None]: ...

    def best(self) -> Callable[[], None]: ...

    def restore_checkpoint(self, early: EarlyStopping, rate: LearningRate) -> int: ...

    def restore_best(self) -> None: ...


class EpochBook:
    """One job's epoch bookkeeping. `writes` (a checkpoints.Background) writes the metric row,
    best weights and checkpoint while the next epoch trains; without it they are written at once."""

    def __init__(self, ctx: JobContext, reporter: Reporter, train: Split, val: Split,
                 writes: checkpoints.Background | None = None) -> None:  # fmt: skip
        self.ctx, self.reporter, self.writes = ctx, reporter, writes
        self.train_y, self.val_y, self.train_size = train.y, val.y, len(train.X)
        self.early = EarlyStopping(ctx.hp.patience)
        self.rate = LearningRate(ctx.hp.lr_schedule, ctx.hp.learning_rate, ctx.hp.epochs)
        self.clock: EpochClock | None = None
        self.took: dict[str, float] | None = None
        self.complete = True  # False once a batch was told to stop (cancelled, lost): nothing more recorded

    def resume(self, snapshots: Snapshots) -> int:
        """The epoch to start from: the last checkpoint's (its early-stopping and schedule state
        loaded into this book), or 0."""
        return snapshots.restore_checkpoint(self.early, self.rate)

    def begin(self, epoch: int) -> float:
        """Start epoch `epoch` (0-based) and return its learning rate."""
        self.clock, self.took = EpochClock(), None
        return self.rate.for_epoch(epoch)

    def trained(self) -> None:
        """The epoch's training steps are done: epoch_seconds stops here (validation excluded)."""
        if self.took is None and self.clock is not None:
            self.took = self.clock.read()

    def batch_done(self, epoch: int, batches: int) -> bool:
        """Progress after a batch; True when training must stop now (cancelled, or the job lost)."""
        if self.reporter.batch_done(epoch, batches):
            self.complete = False
        return not self.complete

    def end(self, epoch: int, values: dict[str, float], snapshots: Snapshots) -> bool:
        """Record epoch `epoch` (0-based) from its metric values (loss, accuracy or errors, the
        val_ ones, learning_rate); True when early stopping ends training here."""
        self.trained()
        assert self.took is not None
        took, seconds = self.took, self.took["epoch_seconds"]
        values = {**values, **took, "samples_per_second": self.train_size / seconds if seconds > 0 else 0.0}
        self.ctx.epoch_in_target_units(values, self.train_y, self.val_y)
        writes: list[Callable[[], Any]] = [functools.partial(self.reporter.epoch_done, epoch + 1, values)]
        stop = self.early.update(values.get("val_loss"))
        self.rate.epoch_end(values.get("val_loss", values.get("loss")))
        if checkpoints.keeps_best(self.ctx.hp.restore_best_weights, self.early, values.get("val_loss")):
            writes.append(snapshots.best())
        writes.append(snapshots.checkpoint(epoch + 1, self.early, self.rate))
        for write in writes:
            if self.writes is not None:
                self.writes.submit(write)
            else:
                write()
        return stop

    def finish(self, snapshots: Snapshots) -> None:
        """After the last epoch (the writes done): the best epoch's weights back, when asked for."""
        if self.complete and self.ctx.hp.restore_best_weights and self.ctx.hp.patience is not None:
            snapshots.restore_best()
