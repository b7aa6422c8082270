"""Seeded, stratified, fixed splits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.datasets.split import EXCLUDED, TEST, TRAIN, VAL, assign_splits, split_counts


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
