"""Epoch checkpoints: weights, optimizer state and the loop's own state, written atomically.

Layout under jobs/<id>/checkpoint/: state.json (epoch completed, early-stopping state, the
framework) plus weights.npz (Keras: model and optimizer variables) or state.pt (torch:
model and optimizer state dicts). state.json is replaced last, so a crash while writing
leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE = "state.json"
# The best epoch's weights (restore_best_weights), written when the validation loss improves.
BEST_KERAS = "best-weights.npz"
BEST_TORCH = "best-state.pt"


def atomic_write(path: Path, write: Any) -> None:
    """write(tmp_path) then rename over path: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_state(folder: Path, state: dict[str, Any]) -> None:
    atomic_write(folder / STATE, lambda tmp: tmp.write_text(json.dumps(state)))


def load_state(folder: Path, framework: str) -> dict[str, Any] | None:
    """The last complete checkpoint's state, or None when there is none for this framework."""
    path = folder / STATE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    return state if state.get("framework") == framework else None


def keeps_best(restore: bool, early: Any, val_loss: float | None) -> bool:
    """After early.update(val_loss): is this epoch the best so far, to be kept for restore_best_weights?"""
    return restore and early.patience is not None and val_loss is not None and early.wait == 0
