"""Ingestion refuses arrays too large for the configured size, the quota or the disk, before writing."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.datasets.capacity import arrays_bytes
from builder.datasets.errors import DatasetError
from builder.datasets.ingest import run_ingest
from builder.datasets.limits import Limits, human_bytes
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.datasets.upload import create_dataset_from_upload
from builder.models import Dataset
from tests.datasets.factories import csv_bytes, iris_like, png_bytes, write, zip_bytes

CATEGORICAL = [f"c{i}" for i in range(1, 6)]


def wide_csv(rows: int, distinct: int = 1000, seed: int = 0) -> bytes:
    """Five categorical columns of `distinct` values each, and a label: small as text, wide one-hot."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, distinct, size=(rows, 5))
    return csv_bytes([*CATEGORICAL, "label"], ([*(f"v{c}" for c in row), "ab"[i % 2]] for i, row in enumerate(codes)))


def ingest(tmp_path: Path, data: bytes, limits: Limits, kind: str = "tabular", **options) -> object:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = write(tmp_path / ("upload.zip" if kind == "images" else "upload.csv"), data)
    return materialise(kind, source, validate_options(kind, options), tmp_path / "v1", limits)


def test_the_issues_one_hot_blow_up_is_refused_naming_the_columns(tmp_path: Path) -> None:
    # The defect: a 1.3 MB CSV with five 1,000-value categorical columns made 956 MB of arrays.
    data = wide_csv(49_000)
    assert 1.2e6 < len(data) < 1.4e6
    types = dict.fromkeys(CATEGORICAL, "categorical")
    with pytest.raises(DatasetError) as info:
        ingest(tmp_path, data, Limits(), target_column="label", column_types=types)
    message = str(info.value)
    assert "The dataset's arrays would take 9" in message and "MiB, more than the 64.0 MiB allowed" in message
    for name in CATEGORICAL:
        assert f"'{name}' (1,000 one-hot inputs)" in message
    assert '"encoding": "index"' in message
    assert list(tmp_path.iterdir()) == [tmp_path / "upload.csv"]  # nothing written, no build folder left
    # Index encoding keeps the same columns at five inputs and passes.
    result = ingest(tmp_path, data, Limits(), target_column="label", column_types=types, encoding="index")
    assert result.input_shape == [5]


def test_the_estimate_is_the_bytes_written(tmp_path: Path) -> None:
    result = ingest(tmp_path, iris_like(90), Limits(), target_column="species")
    written = sum(np.load(p, mmap_mode="r").nbytes for p in (tmp_path / "v1").glob("*.npy"))
    assert written == arrays_bytes(90, tuple(result.input_shape), np.float32, np.int64)
    with pytest.raises(DatasetError, match=r"more than the 1,000 bytes allowed"):
        ingest(tmp_path / "again", iris_like(90), Limits(max_array_bytes=1000), target_column="species")


def test_images_and_text_are_checked_too(tmp_path: Path) -> None:
    images = zip_bytes({f"{c}/{i}.png": png_bytes((16, 16)) for c in ("cats", "dogs") for i in range(6)})
    with pytest.raises(DatasetError, match=r"Use a smaller image_size"):
        ingest(tmp_path, images, Limits(max_array_bytes=2000), kind="images")
    text = csv_bytes(["text", "label"], ([f"word{i} other", "ab"[i % 2]] for i in range(60)))
    with pytest.raises(DatasetError, match=r"shorter sequence_length"):
        ingest(tmp_path / "t", text, Limits(max_array_bytes=100), kind="text", text_column="text", label_column="label")


def test_free_disk_is_checked_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real full disk cannot be made safely in a test; the filesystem's answer is replaced.
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 500, 500))
    with pytest.raises(DatasetError, match=r"only 500 bytes of free disk"):
        ingest(tmp_path, iris_like(90), Limits(), target_column="species")
    assert list(tmp_path.iterdir()) == [tmp_path / "upload.csv"]


@pytest.mark.django_db
def test_ingestion_counts_against_the_owners_quota(alice, settings) -> None:
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 1
    data = wide_csv(3000, distinct=40)  # about 60 KiB of CSV, about 2.4 MiB of arrays
    dataset = create_dataset_from_upload(alice, SimpleUploadedFile("w.csv", data), "wide", "tabular",
                                         {"target_column": "label", "column_types": dict.fromkeys(CATEGORICAL, "categorical")})  # fmt: skip
    assert run_ingest(dataset.pk) == "failed"
    dataset.refresh_from_db()
    left = human_bytes(1024**2 - len(data))  # the upload itself already counts
    assert f"would take 2.3 MiB, but only {left} of your storage quota is left" in dataset.error
    assert not dataset.data_dir.exists()
    settings.LAYERLOOM_USER_STORAGE_QUOTA_MB = 10
    again = create_dataset_from_upload(alice, SimpleUploadedFile("w.csv", data), "wide", "tabular",
                                       {"target_column": "label", "column_types": dict.fromkeys(CATEGORICAL, "categorical")})  # fmt: skip
    assert run_ingest(again.pk) == "ready", Dataset.objects.get(pk=again.pk).error
