"""Tables: profile, types, train-only fitting, parity with the predict transform, and bad input."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from builder.datasets.arrays import load_ids, load_split
from builder.datasets.errors import DatasetError
from builder.datasets.kinds import transform_records
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.datasets.split import assign_block_splits
from tests.datasets.factories import csv_bytes, iris_like, write


def ingest(tmp_path, data: bytes, **options):
    source = write(tmp_path / "upload.csv", data)
    return materialise("tabular", source, validate_options("tabular", options), tmp_path / "v1", Limits())


def fails(tmp_path, data: bytes, match: str, **options) -> str:
    with pytest.raises(DatasetError, match=match) as caught:
        ingest(tmp_path, data, **options)
    # Nothing half-made: only the upload itself is left in the folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.csv"]
    return str(caught.value)


def test_iris_like_table_is_profiled_split_and_materialised(tmp_path):
    result = ingest(tmp_path, iris_like(), target_column="species")
    assert result.task == "classification"
    assert result.class_names == ["setosa", "versicolor", "virginica"]
    assert result.input_shape == [5]  # a, b and three colours one-hot
    profile = result.profile
    assert profile["rows"] == 90 and profile["splits"] == {"train": 54, "val": 18, "test": 18}  # small data: 60/20/20
    colour = next(c for c in profile["columns"] if c["name"] == "color")
    assert colour["type"] == "categorical" and colour["missing"] == colour["imputed"] > 0
    X, y = load_split(tmp_path / "v1", "train")
    assert isinstance(X, np.memmap) and X.dtype == np.float32 and y.dtype == np.int64
    doc = json.loads((tmp_path / "v1" / "preprocessing.json").read_text())
    assert doc["format"] == 1 and doc["class_names"] == result.class_names


def test_fitted_on_the_training_rows_only(tmp_path):
    result = ingest(tmp_path, iris_like(), target_column="species")
    rows = list(csv.DictReader(io.StringIO(iris_like().decode())))
    train_ids = load_ids(tmp_path / "v1", "train")
    train_a = np.array([float(rows[i]["a"]) for i in train_ids])
    feature = result.preprocessing["features"][0]
    assert feature["mean"] == pytest.approx(train_a.mean())
    assert feature["std"] == pytest.approx(train_a.std())
    all_a = np.array([float(r["a"]) for r in rows])
    assert feature["mean"] != pytest.approx(all_a.mean())


def test_materialised_rows_equal_the_predict_transform_of_the_raw_rows(tmp_path):
    result = ingest(tmp_path, iris_like(), target_column="species")
    rows = list(csv.DictReader(io.StringIO(iris_like().decode())))
    for split in ("train", "val", "test"):
        X, _ = load_split(tmp_path / "v1", split)
        ids = load_ids(tmp_path / "v1", split)
        expected = transform_records(result.preprocessing, [rows[i] for i in ids])
        assert np.array_equal(np.asarray(X), expected)  # bit for bit


def test_regression_and_type_overrides(tmp_path):
    body = [[str(i % 7), f"{i * 0.5:.2f}", f"{i * 1.5 + 0.25:.2f}"] for i in range(60)]
    result = ingest(tmp_path, csv_bytes(["zone", "x", "price"], body), column_types={"zone": "categorical"})
    assert result.task == "regression" and result.num_classes is None
    assert result.input_shape == [8]  # 7 zones one-hot + x
    _, y = load_split(tmp_path / "v1", "train")
    assert y.dtype == np.float32


def test_integer_target_with_few_values_is_classification_and_task_can_be_overridden(tmp_path):
    body = [[f"{i}", str(i % 3)] for i in range(30)]
    assert ingest(tmp_path, csv_bytes(["x", "y"], body)).task == "classification"
    assert ingest(tmp_path, csv_bytes(["x", "y"], body), task="regression").task == "regression"


def test_a_column_with_text_after_the_first_block_becomes_categorical(tmp_path):
    body = [[str(i), i % 3, str(i % 2)] for i in range(40_000)] + [["n/k", 1, "0"], ["x", 2, "1"]]
    result = ingest(tmp_path, csv_bytes(["code", "x", "y"], body))
    assert result.profile["columns"][0]["type"] == "ignore"  # too many distinct values: left out, and said so
    assert "distinct" in result.profile["columns"][0]["note"]


def test_identifier_like_text_column_is_left_out_with_a_note(tmp_path):
    body = [[f"user-{i}", str(i % 5), ["a", "b"][i % 2]] for i in range(100)]
    result = ingest(tmp_path, csv_bytes(["id", "x", "y"], body))
    assert [c["type"] for c in result.profile["columns"]] == ["ignore", "numeric"]


# --- bad input: a clear message each, and nothing left behind ------------------------------


def test_empty_file(tmp_path):
    fails(tmp_path, b"", "empty")


def test_header_only(tmp_path):
    fails(tmp_path, b"a,b,label\n", "header row but no data rows")


def test_single_class(tmp_path):
    fails(tmp_path, csv_bytes(["x", "y"], [[i, "yes"] for i in range(10)]), "only one class")


def test_class_with_one_row(tmp_path):
    fails(tmp_path, csv_bytes(["x", "y"], [[i, "a" if i else "b"] for i in range(10)]), "only 1 row")


def test_windows_1252_bytes_are_read_as_such(tmp_path):
    result = ingest(tmp_path, b"name,y\ncaf\xe9,a\nbar,b\ncaf\xe9,a\nbar,b\n", column_types={"name": "categorical"})
    assert result.profile["file"]["encoding"] == "cp1252"
    assert sorted(result.preprocessing["features"][0]["categories"]) == ["bar", "café"]


def test_non_utf8_late_in_the_file_is_read_in_the_encoding_it_fits(tmp_path):
    # UTF-8 (plain ASCII) for the first 64 KiB that detection reads; then a Windows-1252 byte.
    data = csv_bytes(["x", "y"], [[i, "ab"[i % 2]] for i in range(20_000)]) + b"1,\xff\n2,\xff\n"
    result = ingest(tmp_path, data)
    assert result.profile["file"]["encoding"] == "cp1252" and result.class_names == ["a", "b", "ÿ"]


def test_ragged_rows(tmp_path):
    message = fails(tmp_path, b"a,b,y\n1,2,x\n3,4\n5,6,z\n", "Line 3 has 2 values but the header has 3 columns")
    assert "unquoted commas" in message


def test_ten_thousand_columns(tmp_path):
    header = [f"c{i}" for i in range(10_000)]
    fails(tmp_path, csv_bytes(header, [[1] * 10_000, [2] * 10_000]), "10,000 columns; the limit is 2,000")


def test_infinity_in_a_feature(tmp_path):
    fails(tmp_path, csv_bytes(["x", "y"], [[1, "a"], ["inf", "b"], [2, "a"], [3, "b"]]), "infinite value on line 3")


def test_infinity_in_a_regression_target(tmp_path):
    body = [[i, i * 0.37] for i in range(40)] + [[1, "-inf"]]
    fails(tmp_path, csv_bytes(["x", "y"], body), "infinite value on line 42")


def test_nan_is_missing_and_counted(tmp_path):
    body = [["NaN" if i % 10 == 0 else i, "ab"[i % 2]] for i in range(40)]
    result = ingest(tmp_path, csv_bytes(["x", "y"], body))
    assert result.profile["columns"][0]["missing"] == 4
    assert any("missing values were filled in" in note for note in result.profile["notes"])
    X, _ = load_split(tmp_path / "v1", "train")
    assert np.isfinite(X).all()


def test_nan_in_the_target_drops_the_row_and_says_so(tmp_path):
    body = [[i, "" if i == 3 else "ab"[i % 2]] for i in range(40)]
    result = ingest(tmp_path, csv_bytes(["x", "y"], body))
    assert result.profile["target"]["missing"] == 1
    assert sum(result.profile["splits"].values()) == 39


def test_missing_target_column(tmp_path):
    fails(
        tmp_path,
        iris_like(),
        "There is no column 'kind'. The columns are: 'a', 'b', 'color', 'species'",
        target_column="kind",
    )


def test_constant_regression_target(tmp_path):
    body = [[i, "3.5"] for i in range(20)]
    fails(tmp_path, csv_bytes(["x", "y"], body), r"same value \(3.5\) in every row", task="regression")


def test_text_target_cannot_be_regression(tmp_path):
    fails(tmp_path, iris_like(), "cannot be predicted by regression", target_column="species", task="regression")


def test_numeric_override_on_a_text_column(tmp_path):
    fails(tmp_path, iris_like(), "was set to numeric", target_column="species", column_types={"color": "numeric"})


def test_duplicate_column_names(tmp_path):
    fails(tmp_path, b"a,a,y\n1,2,x\n", "appears more than once")


def test_binary_file_named_csv(tmp_path):
    from tests.datasets.factories import png_bytes

    fails(tmp_path, png_bytes() + b"<html><script>alert(1)</script></html>", "looks like a PNG image")


def test_cut_into_pieces_crlf_or_quoted_the_arrays_are_the_same(tmp_path):
    body = [[f"{i * 0.37:.3f}", ["x", "y", ""][i % 3], "ab"[i % 2]] for i in range(3000)]
    plain = csv_bytes(["v", "c", "y"], body)
    variants = {
        "pieces": (plain, Limits(csv_block_bytes=1024)),  # many pieces parsed separately
        "crlf": (plain.replace(b"\n", b"\r\n"), Limits()),
        "quoted": (plain.replace(b",x,", b',"x",'), Limits()),  # quotes: the streaming reader
    }
    expected = None
    for name, (data, limits) in variants.items():
        folder = tmp_path / name
        folder.mkdir()
        source = write(folder / "upload.csv", data)
        materialise("tabular", source, validate_options("tabular", {}), folder / "v1", limits)
        arrays = [np.asarray(load_split(folder / "v1", s)[0]) for s in ("train", "val", "test")]
        if expected is None:
            expected = arrays
        for got, want in zip(arrays, expected, strict=True):
            assert np.array_equal(got, want), name


def test_a_regression_target_is_standardised_on_the_training_rows(tmp_path):
    body = [[f"{i * 0.5:.2f}", f"{300 + i * 1.5:.2f}"] for i in range(60)]
    result = ingest(tmp_path, csv_bytes(["x", "price"], body))
    assert result.task == "regression"
    train_ids = load_ids(tmp_path / "v1", "train")
    prices = np.array([float(row[1]) for row in body])
    scaling = result.preprocessing["target_scaling"]
    assert scaling["mean"] == pytest.approx(prices[train_ids].mean())
    assert scaling["std"] == pytest.approx(prices[train_ids].std())
    assert scaling["mean"] != pytest.approx(prices.mean())
    _, y = load_split(tmp_path / "v1", "test")  # the stored target stays in its own units
    assert np.allclose(np.asarray(y), prices[load_ids(tmp_path / "v1", "test")])
    (tmp_path / "c").mkdir()
    assert "target_scaling" not in ingest(tmp_path / "c", iris_like(), target_column="species").preprocessing


def split_ids(folder) -> list[list[int]]:
    return [load_ids(folder, s).tolist() for s in ("train", "val", "test")]


@pytest.mark.parametrize(
    ("late_target", "task"),
    [
        (lambda i: f"{i % 5}.5", "regression"),  # whole numbers 0-4 at first (classes, so far), then fractions
        (lambda i: "unknown", "classification"),  # 30 whole numbers at first (regression, so far), then text
    ],
)
def test_a_target_read_as_another_task_later_in_the_file_is_split_for_that_task(tmp_path, late_target, task):
    classes = 5 if task == "regression" else 30
    body = [[f"{i * 0.1:.1f}", str(i % classes)] for i in range(3000)]
    body += [[f"{i * 0.1:.1f}", late_target(i)] for i in range(3000, 3050)]
    data = csv_bytes(["x", "y"], body)
    outcomes = {}
    for name, limits in (("pieces", Limits(csv_block_bytes=1024)), ("whole", Limits())):
        folder = tmp_path / name
        folder.mkdir()
        result = materialise("tabular", write(folder / "upload.csv", data), validate_options("tabular", {}),
                             folder / "v1", limits)  # fmt: skip
        assert result.task == task
        outcomes[name] = split_ids(folder / "v1")
    assert outcomes["pieces"] == outcomes["whole"]
    # The rule of builder.datasets.split: blocks per class (regression: one group), in file order.
    labels = np.array([row[1] for row in body])
    expected = assign_block_splits(len(body), (0.8, 0.1, 0.1), 0, labels if task == "classification" else None)
    assert outcomes["whole"] == [np.flatnonzero(expected == s).tolist() for s in range(3)]


def test_rows_of_each_split_are_in_file_order_and_each_class_is_split_in_its_exact_shares(tmp_path):
    body = [[f"{i * 0.37:.3f}", "abcd"[i % 4] if i % 7 else "e"] for i in range(2345)]
    ingest(tmp_path, csv_bytes(["v", "y"], body))
    ids = split_ids(tmp_path / "v1")
    assert all(part == sorted(part) for part in ids) and sorted(sum(ids, [])) == list(range(2345))
    labels = np.array([row[1] for row in body])
    for label in "abcde":
        n = int(np.sum(labels == label))
        counts = [int(np.sum(labels[part] == label)) for part in ids]
        assert counts == [n - 2 * round(n * 0.1), round(n * 0.1), round(n * 0.1)]
