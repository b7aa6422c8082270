"""The fast paths of table ingestion give the same answers as the plain ones.

The byte scan skips decoding ASCII chunks; the write pass runs on several threads; the parsed rows
are kept in memory or on disk.
"""

from __future__ import annotations

import codecs
import json

import numpy as np
import pytest

from builder.datasets import tablesink, tabular
from builder.datasets.csvsource import scan_bytes
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options


def first_invalid(data: bytes) -> int | None:
    try:
        codecs.decode(data, "utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,2\n" * 10,
        "a,\u00e9\n1,\u20ac\n".encode() * 5,
        b"abc\xc3" + b"defgh" * 3,  # a sequence cut short, then plain ASCII
        b"abcd\xc3\xa9" + b"xy" * 8,  # a valid sequence across a chunk boundary, then ASCII
        b"a,b\n1,\xe9t\xe9\n" + b"2,3\n" * 4,  # Windows-1252 text
        b"abcdefg\xf0\x9f\x98",  # ends inside a sequence
    ],
)
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1024 * 1024])
def test_the_byte_scan_finds_the_first_invalid_byte_whatever_the_chunk_size(tmp_path, data, chunk):
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    scan = scan_bytes(path, chunk_bytes=chunk)
    expected = first_invalid(data)
    if expected is None:
        assert scan.invalid_utf8 is None
    elif data.endswith(b"\xf0\x9f\x98"):
        assert scan.invalid_utf8 is not None and scan.invalid_utf8[0] >= len(data) - 4
    else:
        assert scan.invalid_utf8 == (expected, data[expected])


def big_table(rows: int) -> bytes:
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(rows, 3)) * 10, 4)
    colours = np.array(["red", "green", "blue", ""])[rng.integers(0, 4, rows)]
    label = (x[:, 0] > 0).astype(int) + (x[:, 1] > 5)
    lines = ["a,b,c,colour,label"]
    for i in range(rows):
        a = "" if i % 97 == 0 else f"{x[i, 0]}"  # some missing numbers
        lines.append(f"{a},{x[i, 1]},{x[i, 2]},{colours[i]},{label[i]}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("encoding", ["onehot", "index"])
def test_fit_and_write_on_several_threads_give_the_same_arrays_as_one(tmp_path, monkeypatch, encoding):
    source = tmp_path / "upload.csv"
    source.write_bytes(big_table(150_000))  # three chunks of 65,536 rows
    options = validate_options("tabular", {"target_column": "label", "encoding": encoding})
    outputs = {}
    for threads in (1, 4):
        monkeypatch.setattr(tabular, "PARALLEL_CHUNKS", threads)
        out = tmp_path / f"v{threads}"
        result = materialise("tabular", source, options, out, Limits())
        outputs[threads] = (out, result)
    (one, first), (many, second) = outputs[1], outputs[4]
    assert first.profile == second.profile and first.profile["rows"] == 150_000
    assert json.loads((one / "preprocessing.json").read_text()) == json.loads((many / "preprocessing.json").read_text())
    names = sorted(p.name for p in one.glob("*.npy"))
    assert names == sorted(p.name for p in many.glob("*.npy")) and len(names) == 9
    for name in names:
        assert (one / name).read_bytes() == (many / name).read_bytes(), name
    X = np.load(one / "X_train.npy")
    assert X.shape == (first.profile["splits"]["train"], first.input_shape[0]) and np.isfinite(X).all()


def test_rows_kept_in_memory_or_stored_on_disk_give_the_same_arrays(tmp_path):
    source = tmp_path / "upload.csv"
    source.write_bytes(big_table(150_000))  # three chunks of 65,536 rows
    options = validate_options("tabular", {"target_column": "label"})
    outputs = []
    # All in memory; the first chunk in memory and the rest on disk; all on disk.
    for budget in (Limits().table_memory_bytes, tablesink.CHUNK_ROWS * (3 * 8 + 4), 0):
        out = tmp_path / f"v{budget}"
        result = materialise("tabular", source, options, out, Limits(table_memory_bytes=budget))
        outputs.append((out, result))
        assert not list(out.glob("raw-*")) and not list(tmp_path.glob("**/raw-*"))
    (first, one), *others = outputs
    for folder, result in others:
        assert result.profile == one.profile
        for name in sorted(p.name for p in first.glob("*.npy")):
            assert (first / name).read_bytes() == (folder / name).read_bytes(), name


def test_the_memory_budget_is_the_setting(settings):
    settings.LAYERLOOM_INGEST_MEMORY_MB = 3
    assert Limits.from_settings().table_memory_bytes == 3 * 1024**2


@pytest.mark.parametrize("complete", [True, False])
def test_moments_merged_batch_by_batch_on_weights_equal_those_of_the_chosen_rows(complete):
    rng = np.random.default_rng(7)
    batches = []
    for rows in (12_000, 3, 700, 1):  # one batch past 10,000 values, where BLAS would start threads
        columns = [rng.normal(loc=1e4, scale=3.0, size=rows), rng.exponential(size=rows)]
        if not complete:
            columns[1][rng.random(rows) < 0.2] = np.nan
        batches.append((columns, rng.random(rows) < 0.8))
    moments = tablesink.RunningMoments(2)
    for columns, chosen in batches:
        moments.add_columns(columns, chosen, complete)
    for j in range(2):
        values = np.concatenate([columns[j][chosen] for columns, chosen in batches])
        values = values[~np.isnan(values)]
        assert moments.n[j] == len(values)
        assert moments.mean[j] == pytest.approx(values.mean(), rel=1e-12)
        assert moments.std()[j] == pytest.approx(values.std(), rel=1e-9)
