"""A real input from a job's test split, read back from the dataset's stored upload.

The predict page starts filled with it, so the first click predicts something the model
was evaluated on. Which input that is comes from the arrays' ids; how it is read back from
the upload is the dataset kind's (DatasetKind.read_example), never by a name a user gave.
"""

from __future__ import annotations

import csv
import zipfile
from typing import Any

from builder.datasets.arrays import load_ids
from builder.datasets.kinds import Example, kind_of
from builder.datasets.storage import data_root, stored_source
from workers.models import TrainingJob

__all__ = ["Example", "first_test_input"]


def first_test_input(job: TrainingJob, doc: dict[str, Any]) -> Example | None:
    """The first test-split input as the predict endpoint takes it; None when it cannot be read back."""
    dataset = job.dataset
    if not dataset.source:
        return None
    try:
        ids = load_ids(job.dataset_dir, "test")
        if not len(ids):
            return None
        first = int(ids.min())
        root = data_root().resolve()
        if not (root / dataset.source).resolve().is_relative_to(root):  # only ever our own stored upload
            return None
        source = stored_source(dataset)
        if source is None:
            return None
        return kind_of(doc).read_example(doc, source, job.dataset_dir, first)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, csv.Error, UnicodeDecodeError):
        return None
