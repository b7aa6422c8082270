"""Seeded train / validation / test assignment, stratified by class for classification.

The assignment depends only on (labels, fractions, seed), so a dataset version always
splits the same way and every job on it sees the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TRAIN, VAL, TEST = 0, 1, 2
EXCLUDED = -1
SPLIT_NAMES = ("train", "val", "test")


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
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    labels: np.ndarray | None = None,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """int8 split id per row (TRAIN, VAL, TEST; EXCLUDED where `usable` is False).

    With `labels` (class indices) each class is split separately in the same proportions.
    """
    out = np.full(n, EXCLUDED, dtype=np.int8)
    rows = np.arange(n) if usable is None else np.nonzero(usable)[0]
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
