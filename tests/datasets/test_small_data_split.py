"""Small data gets a split a careful person would choose: without a split from the user, under
2,000 usable rows the validation and test shares are 20% each (10% would be a few dozen rows:
too few to choose the epoch on or to measure the model). The dataset page says which split was
chosen and why, and the train page shows each dataset's rows per split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.datasets.split import SMALL_DATA_ROWS, TEST, TRAIN, VAL, assign_splits
from builder.models import Architecture, Dataset
from tests.datasets.factories import iris_like
from tests.workers.helpers import SPECS

pytestmark = pytest.mark.django_db


def fractions(assignment: np.ndarray) -> list[float]:
    return [round(float(np.mean(assignment == part)), 2) for part in (TRAIN, VAL, TEST)]


def test_the_size_of_the_usable_rows_chooses_the_split():
    assert fractions(assign_splits(SMALL_DATA_ROWS - 1)) == [0.6, 0.2, 0.2]
    assert fractions(assign_splits(SMALL_DATA_ROWS)) == [0.8, 0.1, 0.1]
    # Rows without a target do not count: 3,000 rows of which 1,500 usable is small data.
    usable = np.arange(3000) % 2 == 0
    split = assign_splits(3000, usable=usable)
    assert fractions(split[usable]) == [0.6, 0.2, 0.2]
    assert fractions(assign_splits(SMALL_DATA_ROWS - 1, (0.8, 0.1, 0.1))) == [0.8, 0.1, 0.1]  # the user's wins


def ingested(owner: Any, tmp_path: Path, rows: int, **options: Any) -> Dataset:
    source = tmp_path / f"table-{rows}.csv"
    source.write_bytes(iris_like(rows))
    checked = validate_options("tabular", {"target_column": "species", **options})
    dataset = Dataset.objects.create(owner=owner, name=f"table {rows}", kind="tabular", sha256="0" * 64,
                                     options=checked)  # fmt: skip
    result = materialise("tabular", source, checked, dataset.version_dir, Limits())
    dataset.status, dataset.task, dataset.input_shape = Dataset.Status.READY, result.task, result.input_shape
    dataset.class_names, dataset.num_classes, dataset.profile = result.class_names, result.num_classes, result.profile
    dataset.save()
    return dataset


def test_the_dataset_page_says_which_split_and_why_and_the_train_page_shows_the_rows(alice, alice_client, tmp_path):
    small = ingested(alice, tmp_path, 150)
    assert small.options["split"] is None and small.profile["splits"] == {"train": 90, "val": 30, "test": 30}
    page = alice_client.get(f"/datasets/{small.pk}/").content.decode()
    assert "60 / 20 / 20" in page and "chosen for small data: under 2,000 rows" in page

    large = ingested(alice, tmp_path, 2100)
    assert large.profile["splits"] == {"train": 1680, "val": 210, "test": 210}
    page = alice_client.get(f"/datasets/{large.pk}/").content.decode()
    assert "80 / 10 / 10" in page and "(the default)" in page

    chosen = ingested(alice, tmp_path, 150, split=[0.5, 0.25, 0.25])
    page = alice_client.get(f"/datasets/{chosen.pk}/").content.decode()
    assert "50 / 25 / 25" in page and "chosen for small data" not in page and "(the default)" not in page

    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    train = alice_client.get(f"/jobs/new/?architecture={architecture.pk}").content.decode()
    assert "rows for training 90, validation 30, test 30" in train
    assert "rows for training 1,680, validation 210, test 210" in train
    assert "under 2,000 rows is split 60/20/20" in train
