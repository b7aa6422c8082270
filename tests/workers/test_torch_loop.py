"""The torch loop's batches (every row once per epoch, seeded order) and its epoch metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler

from workers.training.context import Split
from workers.training.torch_runner import Batches, Seen, batches


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


@pytest.mark.parametrize("block", [1, 24, 1 << 16])  # every batch, a few batches, the whole epoch per reduction
def test_epoch_metrics_are_the_exact_means_whatever_the_reduction_block(monkeypatch, block):
    monkeypatch.setattr(Seen, "BLOCK", block)
    gen = torch.Generator().manual_seed(3)
    outs = [torch.rand(n, 3, generator=gen) for n in (8, 8, 8, 5)]
    ys = [torch.randint(0, 3, (n,), generator=gen) for n in (8, 8, 8, 5)]
    losses = [torch.rand((), generator=gen) for _ in outs]
    seen = Seen(classification=True, kind="softmax")
    for out, y, loss in zip(outs, ys, losses, strict=True):
        seen.add(out, y, loss)
    values = seen.values("train_")
    sizes = torch.tensor([8.0, 8, 8, 5])
    assert values["train_loss"] == pytest.approx(float((torch.stack(losses) * sizes).sum() / 29), abs=1e-7)
    right = sum(int((o.argmax(1) == y).sum()) for o, y in zip(outs, ys, strict=True))
    assert values["train_accuracy"] == pytest.approx(right / 29)
    assert seen.n == 29


def test_regression_metrics_are_mae_and_rmse():
    seen = Seen(classification=False, kind="linear")
    seen.add(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 4.0]), torch.tensor(2.5))
    seen.add(torch.tensor([[3.0]]), torch.tensor([3.0]), torch.tensor(0.0))
    values = seen.values()
    assert values["mae"] == pytest.approx(1.0)
    assert values["rmse"] == pytest.approx((5 / 3) ** 0.5)
    assert values["loss"] == pytest.approx(5 / 3)
