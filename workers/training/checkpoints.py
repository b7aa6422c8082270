"""Epoch checkpoints: weights, optimizer state, random-number state and the loop's own state.

Layout under the job's checkpoint folder: state.json (whose checkpoint it is, epoch completed,
early-stopping state, the framework, Python's and numpy's generator states) plus weights.npz
(Keras: every model variable, dropout seed state included, the optimizer's, and Keras's global
seed generator) or state.pt (torch: model and optimizer state dicts and torch's generator
state). state.json is replaced last, so a crash while writing leaves the previous checkpoint
whole.

The training loop does not wait for these writes: at each epoch's end it copies what the
checkpoint needs (weights, optimizer state, generator states) and hands the copy, with the
epoch's metric row, to `Background`, one thread that writes them in order while the next
epoch trains. A crash before a checkpoint lands resumes from the one before it, and the
epochs after it are trained again exactly as they were (each epoch's shuffle and random
state come from the checkpoint and the epoch number), replacing their metric rows.

On a remote file store (webapp.filestore) each checkpoint is also pushed to the store once it is
written (the weights, the best weights when they changed, then state.json, then the previous
epoch's weights are deleted there), and a run pulls the job's stored checkpoint before it looks
for one, so a job resumes on whichever host takes it, and on the same host after its data
folder was wiped.

A checkpoint records the job that wrote it (`owner`: the job's id, its creation time and its
storage key where the row has one). A job resumes only its own: one found in its folder that
another job wrote (a data folder that outlived its database, a reused id) is ignored with a
log line, and the job trains from epoch 0.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
STATE = "state.json"
# The best epoch's weights (restore_best_weights), written when the validation loss improves.
BEST_KERAS = "best-weights.npz"
BEST_TORCH = "best-state.pt"


def owner_of(job: Any) -> dict[str, Any]:
    """What identifies the job that writes a checkpoint; nothing of it is reused by another job."""
    key = getattr(job, "storage_key", None)
    return {"job": job.pk, "created": job.created.isoformat(), "storage_key": str(key) if key else ""}


def atomic_write(path: Path, write: Any) -> None:
    """write(tmp_path) then rename over path: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_state(folder: Path, owner: dict[str, Any], state: dict[str, Any], rng: dict[str, Any] | None = None) -> None:
    """rng: the host generators' state as `host_rng_state()` gave it when the epoch ended (now by default)."""
    full = {**state, "owner": owner, "rng": rng if rng is not None else host_rng_state()}
    atomic_write(folder / STATE, lambda tmp: tmp.write_text(json.dumps(full)))
    publish(folder, state)


# Best-weights files already pushed, with the modification time pushed (one process = one job).
_pushed_best: dict[Path, int] = {}


def publish(folder: Path, state: dict[str, Any]) -> None:
    """Store the checkpoint just written (nothing to do on local files): weights before state.json,
    so a reader that finds the new state.json finds its weights; older weights go after it."""
    from webapp import filestore

    if filestore.is_local():
        return
    weights = state.get("weights")
    if weights:
        filestore.push_file(folder / weights)
    for name in (BEST_KERAS, BEST_TORCH):
        best = folder / name
        if best.is_file() and _pushed_best.get(best) != best.stat().st_mtime_ns:
            filestore.push_file(best)
            _pushed_best[best] = best.stat().st_mtime_ns
    prefix = filestore.push_file(folder / STATE).rsplit("/", 1)[0]
    for entry in filestore.list_prefix(prefix):
        if entry.name != weights and (entry.name.startswith("weights-") or entry.name.startswith("state-")):
            filestore.delete(f"{prefix}/{entry.name}")


def pull(folder: Path) -> None:
    """Replace the local checkpoint folder with the job's stored checkpoint (remote stores only)."""
    from webapp import filestore

    if not filestore.is_local():
        filestore.pull_dir(filestore.key_of(folder), folder)


def load_state(folder: Path, framework: str, owner: dict[str, Any]) -> dict[str, Any] | None:
    """The last complete checkpoint's state, or None when there is none of this job's for this framework.
    On a remote store the stored checkpoint is pulled first: the one another host (or this one
    before its folder was wiped) wrote."""
    pull(folder)
    path = folder / STATE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if state.get("owner") != owner:
        log.warning("job %s: ignoring a checkpoint in %s that another job wrote (%s); training from epoch 0",
                    owner["job"], folder, state.get("owner"))  # fmt: skip
        return None
    return state if state.get("framework") == framework else None


def remove_others(folder: Path, pattern: str, keep: str) -> None:
    for old in folder.glob(pattern):
        if old.name != keep:
            old.unlink(missing_ok=True)


def host_rng_state() -> dict[str, Any]:
    """Python's and numpy's global generators, as JSON."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    return {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}  # fmt: skip


def restore_host_rng(state: dict[str, Any]) -> None:
    rng = state.get("rng")
    if not rng:
        return
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def keeps_best(restore: bool, early: Any, val_loss: float | None) -> bool:
    """After early.update(val_loss): is this epoch the best so far, to be kept for restore_best_weights?"""
    return restore and early.patience is not None and val_loss is not None and early.wait == 0


class Background:
    """One thread that runs an epoch's writes (metric row, best weights, checkpoint) in the order
    they were submitted, while the training loop goes on; a context manager that waits for them.

    Order is what keeps a crash recoverable: an epoch's metric row lands before its
    checkpoint, and a checkpoint before the next one. A write that fails stops the ones after
    it and is raised in the training loop at its next `submit`, or at `flush`/exit. At most
    `PENDING` writes wait: a loop that outruns the disk waits for it instead of holding more
    copies of the model in memory.
    """

    PENDING = 4

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(self.PENDING)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, write: Callable[[], None]) -> None:
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="epoch-writes", daemon=True)
            self._thread.start()
        self._queue.put(write)

    def flush(self) -> None:
        """Wait until every write submitted so far is done; raise the first that failed."""
        if self._thread is not None:
            self._queue.join()
        self._raise()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Background:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if kind is None:
                self.flush()  # else the loop's own exception is the one to report
        finally:
            self.close()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        from django.db import connection

        try:
            while True:
                write = self._queue.get()
                try:
                    if write is None:
                        return
                    if self._error is None:
                        write()
                except BaseException as exc:  # noqa: BLE001 - handed to the training loop
                    self._error = exc
                finally:
                    self._queue.task_done()
        finally:
            connection.close()  # this thread's own database connection (the metric rows)
