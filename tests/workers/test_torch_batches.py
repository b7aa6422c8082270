"""The torch loop's batches: every row once per epoch, seeded order, in-order slices for evaluation."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import BatchSampler, RandomSampler

from workers.training.context import Split
from workers.training.torch_runner import Batches, batches


def test_shuffled_batches_cover_every_row_once_in_the_seeded_order():
    generator = torch.Generator().manual_seed(7)
    ours = [batch.tolist() for batch in Batches(103, 10, generator)]
    generator.manual_seed(7)
    reference = list(BatchSampler(RandomSampler(range(103), generator=generator), 10, drop_last=False))
    assert ours == reference  # the same permutation as torch's own samplers draw
    assert sorted(sum(ours, [])) == list(range(103))
    assert [len(b) for b in ours] == [10] * 10 + [3]
    assert len(Batches(103, 10, generator)) == 11


def test_a_loader_yields_whole_batches_of_rows_and_labels():
    X = np.arange(50, dtype=np.float32).reshape(25, 2)
    split = Split(X, np.arange(25, dtype=np.int64), None)
    ordered = list(batches(split, 8, None))
    assert [len(y) for _, y in ordered] == [8, 8, 8, 1]
    assert torch.equal(torch.cat([x for x, _ in ordered]), torch.from_numpy(X))
    shuffled = list(batches(split, 8, torch.Generator().manual_seed(1)))
    xs, ys = torch.cat([x for x, _ in shuffled]), torch.cat([y for _, y in shuffled])
    assert not torch.equal(ys, torch.arange(25))
    assert torch.equal(xs[:, 0], ys.float() * 2)  # each row stays with its label
