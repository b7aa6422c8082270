"""The Keras jobs' training stream: every row once per epoch's worth, a new order each time."""

import numpy as np

from workers.training.context import Split
from workers.training.keras_runner import batches


def epochs_of(seed: int, rows: int, batch: int, count: int, first: int = 0) -> list[list[list[int]]]:
    split = Split(np.arange(rows, dtype=np.float32)[:, None], np.arange(rows), None)
    stream = iter(batches(split, batch, seed, first))
    steps = -(-rows // batch)
    return [[next(stream)[1].numpy().tolist() for _ in range(steps)] for _ in range(count)]


def test_each_epoch_is_a_permutation_in_full_batches_and_a_partial_last() -> None:
    epochs = epochs_of(seed=7, rows=10, batch=4, count=3)
    for epoch in epochs:
        assert [len(b) for b in epoch] == [4, 4, 2]
        assert sorted(sum(epoch, [])) == list(range(10))
    orders = [sum(epoch, []) for epoch in epochs]
    assert orders[0] != orders[1] != orders[2]


def test_inputs_and_targets_stay_paired() -> None:
    split = Split(np.arange(12, dtype=np.float32)[:, None] * 10, np.arange(12), None)
    for x, y in batches(split, 5, 0).take(6):
        assert np.array_equal(x.numpy()[:, 0], y.numpy() * 10)


def test_a_stream_started_at_epoch_k_replays_epoch_k_of_an_uninterrupted_stream() -> None:
    # What a resumed job relies on: epoch k's order depends on (seed, k) only.
    whole = epochs_of(seed=3, rows=10, batch=4, count=4)
    assert epochs_of(seed=3, rows=10, batch=4, count=2, first=2) == whole[2:]
    assert epochs_of(seed=4, rows=10, batch=4, count=2, first=2) != whole[2:]
