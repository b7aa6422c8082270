"""Epoch checkpoints: weights, optimizer state, random-number state and the loop's own state.

Layout under the job's checkpoint folder: state.json (whose checkpoint it is, epoch completed,
early-stopping state, the framework, Python's and numpy's generator states) plus weights.npz
(Keras: every model variable, dropout seed state included, the optimizer's, and Keras's global
seed generator) or state.pt (torch: model and optimizer state dicts and torch's generator
state). state.json is replaced last, so a crash while writing leaves the previous checkpoint
whole.

A checkpoint records the job that wrote it (`owner`: the job's id, its creation time and its
storage key where the row has one). A job resumes only its own: one found in its folder that
another job wrote (a data folder that outlived its database, a reused id) is ignored with a
log line, and the job trains from epoch 0.
"""

from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path
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


def save_state(folder: Path, owner: dict[str, Any], state: dict[str, Any]) -> None:
    full = {**state, "owner": owner, "rng": host_rng_state()}
    atomic_write(folder / STATE, lambda tmp: tmp.write_text(json.dumps(full)))


def load_state(folder: Path, framework: str, owner: dict[str, Any]) -> dict[str, Any] | None:
    """The last complete checkpoint's state, or None when there is none of this job's for this framework."""
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
