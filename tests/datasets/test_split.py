"""Seeded, stratified, fixed splits: the shuffled split (images, text, audio) and the block split (tables)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.datasets.split import (
    EXCLUDED,
    PENDING,
    TEST,
    TRAIN,
    VAL,
    BlockSplitter,
    assign_block_splits,
    assign_splits,
    block_size,
    first_seen_groups,
    split_counts,
)


def test_same_seed_same_split_and_another_seed_differs():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    a = assign_splits(100, (0.8, 0.1, 0.1), 3, labels)
    assert np.array_equal(a, assign_splits(100, (0.8, 0.1, 0.1), 3, labels))
    assert not np.array_equal(a, assign_splits(100, (0.8, 0.1, 0.1), 4, labels))


def test_each_class_is_split_in_proportion():
    labels = np.repeat([0, 1], [80, 20])
    a = assign_splits(100, (0.8, 0.1, 0.1), 0, labels)
    for label, n in ((0, 80), (1, 20)):
        rows = a[labels == label]
        assert np.count_nonzero(rows == VAL) == round(n * 0.1)
        assert np.count_nonzero(rows == TEST) == round(n * 0.1)


def test_rows_without_a_target_are_excluded():
    usable = np.array([True, False] * 10)
    a = assign_splits(20, seed=1, usable=usable)
    assert np.all(a[~usable] == EXCLUDED) and np.all(a[usable] != EXCLUDED)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=300),
    st.sampled_from([(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (1.0, 0.0, 0.0), (0.5, 0.5, 0.0)]),
    st.integers(0, 2**32 - 1),
)
def test_every_row_lands_once_and_every_class_keeps_a_training_row(labels, fractions, seed):
    labels = np.array(labels)
    a = assign_splits(len(labels), fractions, seed, labels)
    assert set(np.unique(a)) <= {TRAIN, VAL, TEST}
    assert sum(split_counts(a).values()) == len(labels)
    for label in np.unique(labels):
        assert np.any(a[labels == label] == TRAIN)


# --- the block split (tables: decided while the file is read) ------------------------------


def streamed(groups: np.ndarray, fractions, seed: int, cuts: list[int]) -> np.ndarray:
    """BlockSplitter fed the rows in batches cut at `cuts`, as ingestion feeds it piece by piece."""
    splitter = BlockSplitter(fractions, seed)
    out = np.full(len(groups), -9, dtype=np.int8)
    edges = [0, *sorted(c for c in cuts if 0 < c < len(groups)), len(groups)]
    for start, stop in zip(edges, edges[1:], strict=False):
        split, done_ids, done_split = splitter.add(groups[start:stop], start)
        decided = split != PENDING
        out[start:stop][decided] = split[decided]
        assert np.all(out[done_ids] == -9) or np.all(out[done_ids] == PENDING)
        out[done_ids] = done_split
    ids, rest = splitter.finish()
    out[ids] = rest
    assert not np.any(out == PENDING) and not np.any(out == -9)
    assert splitter.counts.tolist() == list(split_counts(out).values())
    return out


def test_block_sizes_make_the_fractions_whole_rows():
    assert block_size((0.8, 0.1, 0.1)) == (10, (8, 1, 1))
    assert block_size((0.6, 0.2, 0.2)) == (5, (3, 1, 1))
    assert block_size((0.7, 0.15, 0.15)) == (20, (14, 3, 3))
    assert block_size((1.0, 0.0, 0.0)) == (1, (1, 0, 0))
    size, counts = block_size((0.7001, 0.15, 0.1499))  # no block up to 1,000 rows: rounded
    assert size == 1000 and sum(counts) == 1000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-1, 4), min_size=1, max_size=400),
    st.sampled_from([None, (0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (1.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.7, 0.15, 0.15)]),
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(0, 400), max_size=8),
)
def test_the_block_split_is_the_same_however_the_rows_are_cut_into_batches(groups, fractions, seed, cuts):
    groups = np.array(groups)
    usable = groups >= 0
    whole = assign_block_splits(len(groups), fractions, seed, labels=np.maximum(groups, 0), usable=usable)
    # Groups numbered in the order they first appear, as a table's classes are.
    assert np.array_equal(streamed(first_seen_groups(groups, usable), fractions, seed, cuts), whole)
    assert np.all(whole[~usable] == EXCLUDED) and np.all(whole[usable] != EXCLUDED)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=300),
    st.sampled_from([(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (1.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.7, 0.15, 0.15)]),
    st.integers(0, 2**32 - 1),
)
def test_the_block_split_gives_each_class_the_same_counts_as_the_shuffled_split(labels, fractions, seed):
    labels = np.array(labels)
    blocks = assign_block_splits(len(labels), fractions, seed, labels)
    shuffled = assign_splits(len(labels), fractions, seed, labels)
    for label in np.unique(labels):
        mine = labels == label
        assert split_counts(blocks[mine]) == split_counts(shuffled[mine])
        assert np.any(blocks[mine] == TRAIN)


def test_the_block_split_is_seeded_and_spreads_each_split_over_the_block():
    labels = np.repeat([0, 1, 2], [5000, 3000, 2000])
    a = assign_block_splits(len(labels), (0.8, 0.1, 0.1), 3, labels)
    assert np.array_equal(a, assign_block_splits(len(labels), (0.8, 0.1, 0.1), 3, labels))
    assert not np.array_equal(a, assign_block_splits(len(labels), (0.8, 0.1, 0.1), 4, labels))
    # Within every block of 10 rows of a class: 8 train, 1 validation, 1 test, at any of the 10 places.
    first = a[:5000].reshape(-1, 10)
    assert np.all((first == VAL).sum(axis=1) == 1) and np.all((first == TEST).sum(axis=1) == 1)
    places = np.bincount(np.nonzero(first == VAL)[1], minlength=10)
    assert places.min() > 0.5 * places.mean()


def test_the_default_split_waits_for_the_rows_that_choose_it():
    # Under 2,000 usable rows in the first batches, the split is chosen when the rest has been seen.
    groups = np.zeros(2500, dtype=np.int64)
    groups[::3] = -1  # a third without a target: 1,666 usable rows, small data
    out = streamed(groups, None, 0, [500, 1000, 1500])
    assert [round(float(np.mean(out[groups >= 0] == s)), 2) for s in (TRAIN, VAL, TEST)] == [0.6, 0.2, 0.2]
    out = streamed(np.zeros(2500, dtype=np.int64), None, 0, [500, 1000, 2100])
    assert [round(float(np.mean(out == s)), 2) for s in (TRAIN, VAL, TEST)] == [0.8, 0.1, 0.1]
