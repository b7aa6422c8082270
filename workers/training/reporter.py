"""Between the training loop and the database: progress, per-epoch metrics, cancel.

The loop calls `batch_done` after every batch; it only touches memory (a few attribute
writes), so it costs nothing next to a training step. A background thread writes the
progress at most twice a second, reads the cancel flag and checks that this run still
owns the job; `batch_done` answers "stop" as soon as that thread has seen a reason.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db import connection
from django.utils import timezone

from workers.lifecycle import update_run
from workers.models import Metric, TrainingJob
from workers.training.tensorboard_logs import JobLogWriter

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.5  # seconds: "batch-level progress at most twice a second"


@dataclass
class EarlyStopping:
    """Patience on validation loss; its state travels in the checkpoint so a resume keeps it."""

    patience: int | None
    best: float | None = None
    wait: int = 0
    MIN_DELTA: ClassVar[float] = 1e-4

    def update(self, val_loss: float | None) -> bool:
        """Record an epoch; True when training should stop.

        Better means lower by more than MIN_DELTA: on data the model separates perfectly the
        loss creeps towards 0 for ever, and such epochs change no prediction.
        """
        if self.patience is None or val_loss is None:
            return False
        if self.best is None or val_loss < self.best - self.MIN_DELTA:
            self.best, self.wait = val_loss, 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait}

    def load(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))


@dataclass
class Reporter:
    job_id: int
    token: str
    total_epochs: int
    batches_per_epoch: int
    tensorboard: JobLogWriter | None = None
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches done in the current epoch
    stop_reason: str | None = None  # "cancelled", "pruned", "lost" (another run owns the job), "orphaned"
    # A sweep trial's pruning check (sweeps.pruning): after each published epoch, "pruned" or None.
    epoch_check: Callable[[int, dict[str, Any]], str | None] | None = None
    _run_start: float = field(default_factory=time.monotonic)
    _batches_this_run: int = 0
    _written: tuple[int, int] = (-1, -1)
    _thread: threading.Thread | None = None
    _done: threading.Event = field(default_factory=threading.Event)
    # Progress is written from two threads (this one at each epoch end, the reporter's every
    # 0.5 s). Without the lock the reporter could read the position just before an epoch
    # ends and land its UPDATE just after the epoch-end write, leaving the row one epoch
    # behind its Metric rows; a job cancelled right then kept that stale row.
    _progress_lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)  # set by stop() or the first batch

    # --- called from the training loop ------------------------------------------------
    def batch_done(self, epoch: int, batch: int) -> bool:
        """epoch is 0-based, batch counts batches done in it; True means stop now."""
        self.epoch, self.batch = epoch, batch
        self._batches_this_run += 1
        if self._batches_this_run == 1:
            self._wake.set()  # show the first trained batch at once, not up to 0.5 s later
        return self.stop_reason is not None

    def epoch_done(self, epoch: int, values: dict[str, Any]) -> None:
        """epoch is the 1-based number just completed; stored before the checkpoint is written.

        The runners call it on their writer thread (checkpoints.Background), so the loop may
        already be in the next epoch: the position then stays where the loop has got to.
        """
        step = epoch * self.batches_per_epoch
        clean = {k: (float(v) if isinstance(v, int | float) else v) for k, v in values.items()}
        Metric.objects.update_or_create(job_id=self.job_id, epoch=epoch, defaults={"step": step, "values": clean})
        with self._progress_lock:
            if (epoch, 0) >= (self.epoch, self.batch):
                self.epoch, self.batch = epoch, 0
            self._write_progress(force=True)
        if self.tensorboard is not None:
            self.tensorboard.scalars(epoch, {k: v for k, v in clean.items() if isinstance(v, float)})
        if self.epoch_check is not None and self.stop_reason is None:
            # Stops the loop at its next batch, as a cancel does (batch_done reads stop_reason).
            self.stop_reason = self.epoch_check(epoch, clean) or self.stop_reason

    @property
    def should_stop(self) -> bool:
        return self.stop_reason is not None

    # --- the background thread -----------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"reporter-{self.job_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        supervisor = int(os.environ.get("LAYERLOOM_SUPERVISOR_PID", "0"))
        try:
            while not self._done.is_set():
                if self._wake.wait(PROGRESS_INTERVAL):
                    self._wake.clear()
                    if self._done.is_set():
                        break
                if supervisor and os.getppid() != supervisor:
                    self.stop_reason = "orphaned"  # the worker died; a new delivery will resume
                    continue
                try:
                    with self._progress_lock:
                        self._write_progress()
                    self._poll_flags()
                except Exception:  # noqa: BLE001 - keep training through a database hiccup
                    log.warning("job %s: progress not written", self.job_id, exc_info=True)
        finally:
            connection.close()

    def _poll_flags(self) -> None:
        row = TrainingJob.objects.filter(pk=self.job_id).values("run_token", "cancel_requested", "status").first()
        if row is None or row["run_token"] != self.token or row["status"] != TrainingJob.Status.RUNNING:
            self.stop_reason = "lost"
        elif row["cancel_requested"]:
            self.stop_reason = "cancelled"

    def _write_progress(self, force: bool = False) -> None:
        """Called with _progress_lock held; writes one consistent (epoch, batch) snapshot."""
        position = epoch, batch = self.epoch, self.batch
        if position == self._written and not force:
            return
        total = max(1, self.total_epochs * self.batches_per_epoch)
        done = min(total, epoch * self.batches_per_epoch + batch)
        elapsed = time.monotonic() - self._run_start
        eta = elapsed / self._batches_this_run * (total - done) if self._batches_this_run else None
        update_run(
            self.job_id, self.token, epoch=epoch, batch=batch, percent=round(100.0 * done / total, 2), eta_seconds=eta,
            total_epochs=self.total_epochs, batches_per_epoch=self.batches_per_epoch, heartbeat_at=timezone.now(),
        )  # fmt: skip
        self._written = position
