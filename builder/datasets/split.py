"""Seeded train / validation / test assignment, stratified by class for classification.

The assignment depends only on (labels, fractions, seed), so a dataset version always
splits the same way and every job on it sees the same rows.

Without fractions from the user the size of the data chooses them: under SMALL_DATA_ROWS
rows, 10% would leave too few rows to choose an epoch on (validation) and to measure the
model (test); a few dozen rows of noise decide both. Such data gets SMALL_DATA_SPLIT.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TRAIN, VAL, TEST = 0, 1, 2
EXCLUDED = -1
SPLIT_NAMES = ("train", "val", "test")
DEFAULT_SPLIT = (0.8, 0.1, 0.1)
SMALL_DATA_SPLIT = (0.6, 0.2, 0.2)
SMALL_DATA_ROWS = 2000


def default_split(rows: int) -> tuple[float, float, float]:
    """The fractions chosen for data of this many usable rows when the user chose none."""
    return SMALL_DATA_SPLIT if rows < SMALL_DATA_ROWS else DEFAULT_SPLIT


def split_choice(fractions: Sequence[float] | None, counts: dict[str, int]) -> dict[str, object]:
    """What the dataset and train pages say about a split: its fractions, and why when chosen for the user."""
    rows = sum(counts.values())
    chosen = fractions is None
    used = default_split(rows) if chosen else tuple(fractions)
    reason = ""
    if chosen and used == SMALL_DATA_SPLIT:
        reason = (f"chosen for small data: under {SMALL_DATA_ROWS:,} rows, 10% would leave too few rows to "
                  "choose the epoch and to measure the model")  # fmt: skip
    elif chosen:
        reason = "the default"
    return {"fractions": [round(float(f), 4) for f in used], "chosen": chosen, "reason": reason}


def _counts(n: int, fractions: Sequence[float]) -> tuple[int, int, int]:
    """Rows per split: validation and test rounded, train takes the rest and keeps at least one."""
    n_val = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    while n_val + n_test >= n and n_val + n_test > 0:
        if n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n - n_val - n_test, n_val, n_test


def _assign_group(out: np.ndarray, rows: np.ndarray, fractions: Sequence[float], rng: np.random.Generator) -> None:
    shuffled = rows[rng.permutation(len(rows))]
    n_train, n_val, _ = _counts(len(rows), fractions)
    out[shuffled[:n_train]] = TRAIN
    out[shuffled[n_train : n_train + n_val]] = VAL
    out[shuffled[n_train + n_val :]] = TEST


def assign_splits(
    n: int,
    fractions: Sequence[float] | None = None,
    seed: int = 0,
    labels: np.ndarray | None = None,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """int8 split id per row (TRAIN, VAL, TEST; EXCLUDED where `usable` is False).

    With `labels` (class indices) each class is split separately in the same proportions.
    Without `fractions`, default_split of the usable rows.
    """
    out = np.full(n, EXCLUDED, dtype=np.int8)
    rows = np.arange(n) if usable is None else np.nonzero(usable)[0]
    fractions = default_split(len(rows)) if fractions is None else fractions
    rng = np.random.default_rng(seed)
    if labels is None:
        _assign_group(out, rows, fractions, rng)
        return out
    row_labels = labels[rows]
    for label in np.unique(row_labels):
        _assign_group(out, rows[row_labels == label], fractions, rng)
    return out


def split_counts(assignment: np.ndarray) -> dict[str, int]:
    return {name: int(np.count_nonzero(assignment == i)) for i, name in enumerate(SPLIT_NAMES)}
