"""A real input from a job's test split, read back from the dataset's stored upload.

The predict page starts filled with it, so the first click predicts something the model
was evaluated on. Reading stops at the first test row; images are read from the stored
zip by the member index ingestion recorded (samples.json), never by a name a user gave.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from builder.datasets.arrays import load_ids
from builder.datasets.storage import data_root
from workers.models import TrainingJob

# A larger example image is not worth putting in the page; the file input still takes it.
MAX_EXAMPLE_IMAGE_BYTES = 256 * 1024


@dataclass
class Example:
    value: dict[str, str] | str | bytes  # a CSV row (column -> text), a text, or an image file's bytes
    label: str  # the answer the data gives for it ("" when unknown)


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
        source = (root / dataset.source).resolve()
        if not source.is_relative_to(root):  # only ever our own stored upload
            return None
        if doc["kind"] == "images":
            return _image(job, doc, source, first)
        row = _csv_row(source, first)
        if row is None:
            return None
        if doc["kind"] == "text":
            text = row.get(doc["text"]["column"])
            return Example(text, row.get(doc["text"].get("label_column") or "") or "") if text else None
        return Example(row, row.get(doc.get("target_column") or "") or "")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, csv.Error, UnicodeDecodeError):
        return None


def _csv_row(source: Path, index: int) -> dict[str, str] | None:
    with source.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if number == index:
                return {str(k): v for k, v in row.items() if k is not None}
    return None


def _image(job: TrainingJob, doc: dict[str, Any], source: Path, index: int) -> Example | None:
    names = json.loads((job.dataset_dir / "samples.json").read_text(encoding="utf-8"))["names"]
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(names[str(index)])
        if info.file_size > MAX_EXAMPLE_IMAGE_BYTES:
            return None
        data = archive.read(info)
    # The class is the image's folder ("digits/3/0042.png" or "3/0042.png": class "3").
    classes = {str(c) for c in doc.get("class_names") or []}
    label = next((part for part in PurePosixPath(info.filename).parts[:-1] if part in classes), "")
    return Example(data, label)
