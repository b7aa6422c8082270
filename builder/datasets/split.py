"""Seeded train / validation / test assignment, stratified by class for classification.

The assignment depends only on (labels, fractions, seed), so a dataset version always
splits the same way and every job on it sees the same rows.

Without fractions from the user the size of the data chooses them: under SMALL_DATA_ROWS
rows, 10% would leave too few rows to choose an epoch on (validation) and to measure the
model (test); a few dozen rows of noise decide both. Such data gets SMALL_DATA_SPLIT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

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


# --- the block split: known row by row as a file is read -------------------------------------
# Tables are split while they are parsed (builder.datasets.tabular), before the last row is read,
# so the rule cannot shuffle a whole class. Each group (a class; or all rows with a target, for
# regression) is taken in file order in blocks of BLOCK rows, BLOCK the smallest size in which the
# fractions are whole rows (80/10/10: 10 rows, 8/1/1; 60/20/20: 5 rows, 3/1/1). A full block is
# split in the block's counts, in an order drawn from (seed, group, block); the rows after a
# group's last full block (fewer than BLOCK) take what the group's exact totals (the same counts
# as assign_splits: validation and test rounded, train the rest) still need, in a seeded order.
# A row's split is known once its block is full, or at the end of the file.

PENDING = -2
MAX_BLOCK = 1000
_BANK_BLOCKS = 1024  # block orders drawn per (group, bank), so batch boundaries change nothing


def block_size(fractions: Sequence[float]) -> tuple[int, tuple[int, int, int]]:
    """(rows per block, rows per split in a block): the smallest block in which the fractions are
    whole rows; MAX_BLOCK rows, counts rounded, when none up to it is."""
    for size in range(1, MAX_BLOCK + 1):
        exact = [f * size for f in fractions]
        if all(abs(x - round(x)) < 1e-9 * size for x in exact):
            counts = tuple(int(round(x)) for x in exact)
            if counts[0] > 0 and sum(counts) == size:
                return size, counts  # type: ignore[return-value]
    return MAX_BLOCK, _counts(MAX_BLOCK, fractions)


class BlockSplitter:
    """The block split, fed batch by batch: add() gives each row's split, or PENDING until its
    block is full (then a later add() or finish() hands it over by row id)."""

    def __init__(self, fractions: Sequence[float] | None, seed: int) -> None:
        self.fractions = None if fractions is None else tuple(float(f) for f in fractions)
        self.seed = int(seed)
        self.usable = 0
        self.counts = np.zeros(3, dtype=np.int64)
        self._seen: dict[int, int] = {}  # rows of each group so far
        self._pending: dict[int, np.ndarray] = {}  # ids of each group's rows in its unfinished block
        self._banks: dict[int, tuple[int, np.ndarray]] = {}
        self._held: list[tuple[np.ndarray, np.ndarray]] = []  # before the default split is chosen
        if self.fractions is not None:
            self._decide(self.fractions)

    def _decide(self, fractions: Sequence[float]) -> None:
        self.fractions = tuple(fractions)
        self.block, block_counts = block_size(self.fractions)
        self.block_counts = np.array(block_counts, dtype=np.int64)
        self._base = np.repeat(np.array([TRAIN, VAL, TEST], dtype=np.int8), self.block_counts)
        self._orders = _arrangements(self.block, int(self.block_counts[1]), int(self.block_counts[2]))

    def add(self, groups: np.ndarray, first_row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """groups: a group id per row of the batch (-1: no target), rows first_row, first_row+1...
        -> (split per row: TRAIN/VAL/TEST, EXCLUDED or PENDING; ids and splits of earlier rows decided now)."""
        out = np.full(len(groups), EXCLUDED, dtype=np.int8)
        rows = np.flatnonzero(groups >= 0)
        self.usable += len(rows)
        ids = rows.astype(np.int64) + first_row
        if self.fractions is None:
            out[rows] = PENDING
            self._held.append((groups[rows].astype(np.int64), ids))
            if self.usable < SMALL_DATA_ROWS:
                return out, np.empty(0, np.int64), np.empty(0, np.int8)
            self._decide(DEFAULT_SPLIT)
            return out, *self._release_held()
        split, done_ids, done_split = self._assign(groups[rows].astype(np.int64), ids)
        out[rows] = split
        return out, done_ids, done_split

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, splits) of every row still pending: the rows after each group's last full block."""
        parts_ids, parts_split = [], []
        if self.fractions is None:
            self._decide(default_split(self.usable))
            held_ids, held_split = self._release_held()
            parts_ids.append(held_ids)
            parts_split.append(held_split)
        for group, ids in self._pending.items():
            if not len(ids):
                continue
            total = self._seen[group]
            full = (total // self.block) * self.block_counts
            want = np.array(_counts(total, self.fractions), dtype=np.int64) - full
            rest = len(ids)
            val = min(max(int(want[1]), 0), rest)
            test = min(max(int(want[2]), 0), rest - val)
            order = np.repeat(np.array([TRAIN, VAL, TEST], dtype=np.int8), [rest - val - test, val, test])
            parts_ids.append(ids)
            parts_split.append(np.random.default_rng([self.seed, 2, group]).permutation(order))
            self.counts += np.bincount(order, minlength=3)
        self._pending = {}
        ids = np.concatenate(parts_ids) if parts_ids else np.empty(0, np.int64)
        split = np.concatenate(parts_split) if parts_split else np.empty(0, np.int8)
        return ids, split

    def _release_held(self) -> tuple[np.ndarray, np.ndarray]:
        groups = np.concatenate([g for g, _ in self._held]) if self._held else np.empty(0, np.int64)
        ids = np.concatenate([i for _, i in self._held]) if self._held else np.empty(0, np.int64)
        self._held = []
        split, done_ids, done_split = self._assign(groups, ids)
        now = split != PENDING
        return np.concatenate([ids[now], done_ids]), np.concatenate([split[now], done_split])

    def _assign(self, groups: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        split = np.full(len(groups), PENDING, dtype=np.int8)
        done_ids, done_split = [], []
        present = np.flatnonzero(np.bincount(groups)) if len(groups) else []
        single = len(present) == 1
        for group in present:
            group = int(group)
            where = slice(None) if single else np.flatnonzero(groups == group)
            new_ids = ids[where]
            waiting = self._pending.get(group, np.empty(0, np.int64))
            seen = self._seen.get(group, 0)
            total = seen + len(new_ids)
            # Positions in the group: the waiting rows first (they came earlier), then the new ones.
            first = seen - len(waiting)
            full_rows = (total // self.block) * self.block
            decided = max(min(full_rows - first, len(waiting) + len(new_ids)), 0)
            if decided:
                splits = self._pattern(group, first, decided)
                from_waiting = min(decided, len(waiting))
                if from_waiting:
                    done_ids.append(waiting[:from_waiting])
                    done_split.append(splits[:from_waiting])
                new_decided = decided - from_waiting
                if single:
                    split[:new_decided] = splits[from_waiting:]
                else:
                    split[where[:new_decided]] = splits[from_waiting:]
            kept_waiting = waiting[min(decided, len(waiting)) :]
            kept_new = new_ids[max(decided - len(waiting), 0) :]
            self._pending[group] = np.concatenate([kept_waiting, kept_new]) if len(kept_waiting) else kept_new.copy()
            self._seen[group] = total
        decided_now = split[split != PENDING]
        self.counts += np.bincount(decided_now, minlength=3)
        if done_split:
            self.counts += np.bincount(np.concatenate(done_split), minlength=3)
        return (
            split,
            np.concatenate(done_ids) if done_ids else np.empty(0, np.int64),
            np.concatenate(done_split) if done_split else np.empty(0, np.int8),
        )

    def _pattern(self, group: int, start: int, count: int) -> np.ndarray:
        """The splits of positions start..start+count-1 of the group (whole blocks only): a bank holds
        _BANK_BLOCKS blocks' orders end to end, so positions are a slice of it."""
        per_bank = _BANK_BLOCKS * self.block
        parts = []
        position, end = start, start + count
        while position < end:
            bank, offset = divmod(position, per_bank)
            take = min(end - position, per_bank - offset)
            parts.append(self._bank(group, bank)[offset : offset + take])
            position += take
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _bank(self, group: int, bank: int) -> np.ndarray:
        cached = self._banks.get(group)
        if cached is None or cached[0] != bank:
            # Each block: its counts in a random order, every order equally likely (one drawn from the
            # list of them where it is short, as for the default splits; else the base sorted by random keys).
            rng = np.random.default_rng([self.seed, 1, group, bank])
            if self._orders is not None:
                orders = self._orders[rng.integers(0, len(self._orders), _BANK_BLOCKS)]
            else:
                orders = self._base[np.argsort(rng.random((_BANK_BLOCKS, self.block)), axis=1)]
            cached = (bank, orders.ravel())
            self._banks[group] = cached
        return cached[1]


def _arrangements(size: int, val: int, test: int, most: int = 4096) -> np.ndarray | None:
    """Every order of a block's splits (size rows, val and test of them), or None when there are more than most."""
    if math.comb(size, val) * math.comb(size - val, test) > most:
        return None
    out = []
    for val_at in combinations(range(size), val):
        rest = [i for i in range(size) if i not in val_at]
        for test_at in combinations(rest, test):
            order = np.full(size, TRAIN, dtype=np.int8)
            order[list(val_at)] = VAL
            order[list(test_at)] = TEST
            out.append(order)
    return np.array(out, dtype=np.int8).reshape(len(out), size)


def first_seen_groups(labels: np.ndarray, usable: np.ndarray | None = None) -> np.ndarray:
    """Class indices renumbered in the order the classes first appear (-1 where not usable): the
    group ids BlockSplitter gets from a table read in order."""
    groups = np.full(len(labels), -1, dtype=np.int64)
    rows = np.arange(len(labels)) if usable is None else np.flatnonzero(usable)
    if not len(rows):
        return groups
    values, first = np.unique(labels[rows], return_index=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(values))
    groups[rows] = rank[np.searchsorted(values, labels[rows])]
    return groups


def assign_block_splits(
    n: int,
    fractions: Sequence[float] | None = None,
    seed: int = 0,
    labels: np.ndarray | None = None,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """The block split of n rows at once (what BlockSplitter gives batch by batch)."""
    if labels is None:
        groups = np.zeros(n, dtype=np.int64) if usable is None else np.where(usable, 0, -1)
    else:
        groups = first_seen_groups(np.asarray(labels), usable)
    splitter = BlockSplitter(fractions, seed)
    out, done_ids, done_split = splitter.add(groups, 0)
    out[done_ids] = done_split
    rest_ids, rest_split = splitter.finish()
    out[rest_ids] = rest_split
    return out
