"""Text classification: vocabulary from training rows, token ids, and the shared bad-CSV checks."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from builder.datasets.arrays import load_ids, load_split
from builder.datasets.errors import DatasetError
from builder.datasets.kinds import transform_records
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.demo import reviews_csv
from tests.datasets.factories import csv_bytes, write


def ingest(tmp_path, data: bytes, **options):
    source = write(tmp_path / "upload.csv", data)
    return materialise("text", source, validate_options("text", options), tmp_path / "v1", Limits())


def test_reviews_become_token_ids_with_a_training_vocabulary(tmp_path):
    data = reviews_csv(200)
    result = ingest(tmp_path, data, vocab_size=30)
    doc = result.preprocessing["text"]
    assert len(doc["vocabulary"]) == 30 and doc["vocabulary"][:2] == ["<pad>", "<oov>"]
    assert result.class_names == ["negative", "positive"]
    X, y = load_split(tmp_path / "v1", "train")
    assert X.dtype == np.int32 and X.shape[1] == doc["sequence_length"] == result.input_shape[0]
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    ids = load_ids(tmp_path / "v1", "test")
    X_test, _ = load_split(tmp_path / "v1", "test")
    assert np.array_equal(np.asarray(X_test), transform_records(result.preprocessing, [rows[i]["text"] for i in ids]))


def test_words_only_in_validation_or_test_rows_are_not_in_the_vocabulary(tmp_path):
    body = [[f"common word{i}", "ab"[i % 2]] for i in range(100)]
    result = ingest(tmp_path, csv_bytes(["text", "label"], body), sequence_length=4)
    vocabulary = set(result.preprocessing["text"]["vocabulary"])
    held_out = load_ids(tmp_path / "v1", "val").tolist() + load_ids(tmp_path / "v1", "test").tolist()
    assert all(f"word{i}" not in vocabulary for i in held_out)


def test_multiline_quoted_texts(tmp_path):
    body = [[f"line one\nline two {i}", "ab"[i % 2]] for i in range(20)]
    assert ingest(tmp_path, csv_bytes(["text", "label"], body)).profile["rows"] == 20


def test_missing_text_column(tmp_path):
    with pytest.raises(DatasetError, match="There is no text column 'body'"):
        ingest(tmp_path, reviews_csv(20), text_column="body")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.csv"]


def test_single_label(tmp_path):
    with pytest.raises(DatasetError, match="only one class"):
        ingest(tmp_path, csv_bytes(["text", "label"], [["hello", "x"]] * 5))
