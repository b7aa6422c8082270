"""Demo datasets: made from data scikit-learn ships, ingested like any upload, one click each."""

from __future__ import annotations

import pytest

from builder.datasets.ingest import run_ingest
from builder.demo import DEMOS, create_demo_dataset
from builder.models import Dataset

EXPECTED = {
    "iris": ("tabular", [4], 3),
    "digits": ("images", [8, 8, 1], 10),
    "reviews": ("text", None, 2),
}


def test_demo_files_are_the_same_bytes_every_time():
    for demo in DEMOS.values():
        assert demo.build() == demo.build()


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_demo_ingests(alice, data_root, enqueued, key):
    kind, shape, classes = EXPECTED[key]
    dataset = create_demo_dataset(alice, key)
    assert run_ingest(dataset.pk) == "ready"
    dataset = Dataset.objects.get(pk=dataset.pk)
    assert dataset.kind == kind and dataset.num_classes == classes
    if shape:
        assert dataset.input_shape == shape
    again = create_demo_dataset(alice, key)
    assert again.pk == dataset.pk and again.duplicate is True
