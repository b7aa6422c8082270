"""Tables: a CSV file with a target column -> standardised, encoded float32 arrays.

Three streamed passes keep memory bounded by one block plus the per-row target:
1. scan: column types, missing values, infinities, the target and its classes;
2. fit: means, standard deviations and categories, on the training rows only;
3. write: every row through preprocessing.transform_columns into its split's files.
Pass 1 keeps the parsed values on disk (RawStore); passes 2 and 3 read them back in row chunks,
summarised or transformed on several threads and merged or written in file order.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from builder.datasets import preprocessing
from builder.datasets.arrays import SplitWriters
from builder.datasets.capacity import arrays_bytes, check_room, table_cap
from builder.datasets.csvsource import (
    ColumnTypeMismatch,
    iter_batches,
    read_header,
    show_columns,
    show_name,
    translate_error,
)
from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits, human_bytes
from builder.datasets.result import IngestResult, write_json
from builder.datasets.split import TRAIN, assign_splits, split_counts
from builder.datasets.tablefile import prepare_table
from builder.datasets.targets import Target, TargetCollector

_DISTINCT_TRACKED = 1000
# Threads for the passes over the stored values (fit, write): pyarrow's count, as its parse uses.
PARALLEL_CHUNKS = max(1, min(pa.cpu_count(), 8))
T = TypeVar("T")


@dataclass
class ColumnScan:
    name: str
    kind: str  # "numeric" | "categorical" | "ignore"
    overridden: bool = False
    missing: int = 0
    distinct: set[Any] = field(default_factory=set)
    distinct_capped: bool = False
    minimum: float = np.inf
    maximum: float = -np.inf
    total: float = 0.0
    count: int = 0
    note: str = ""


class RunningMoments:
    """Per-column count, mean and sum of squared deviations, merged block by block (Chan et al.)."""

    def __init__(self, columns: int) -> None:
        self.n = np.zeros(columns)
        self.mean = np.zeros(columns)
        self.m2 = np.zeros(columns)

    def add(self, block: np.ndarray) -> None:
        """block: (rows, columns) float64, NaN where missing."""
        self.merge(self.of_block(block))

    @staticmethod
    def of_block(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(count, mean, sum of squared deviations) per column of one block; None when it has no rows.
        Blocks may be summarised on several threads; merging them in order gives the same figures."""
        if not len(block):
            return None
        present = ~np.isnan(block)
        if present.all():
            n_b = np.full(block.shape[1], float(len(block)))
            mean_b = block.mean(axis=0)
            m2_b = ((block - mean_b) ** 2).sum(axis=0)
        else:
            n_b = present.sum(axis=0).astype(np.float64)
            mean_b = np.where(present, block, 0.0).sum(axis=0) / np.maximum(n_b, 1.0)
            m2_b = (np.where(present, block - mean_b, 0.0) ** 2).sum(axis=0)
        return n_b, mean_b, m2_b

    def merge(self, summary: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        if summary is None:
            return
        n_b, mean_b, m2_b = summary
        total = self.n + n_b
        safe = np.maximum(total, 1.0)
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / safe
        self.m2 = self.m2 + m2_b + delta * delta * self.n * n_b / safe
        self.n = total

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / np.maximum(self.n, 1.0))


def _first_block_schema(source: Path, header: list[str], limits: Limits, target: str) -> pa.Schema:
    read_options = pacsv.ReadOptions(block_size=min(limits.csv_block_bytes, 1024 * 1024))
    convert_options = pacsv.ConvertOptions(
        column_types={target: pa.string()},
        null_values=list(preprocessing.MISSING_TOKENS),
        strings_can_be_null=True,
    )
    try:
        reader = pacsv.open_csv(
            source,
            read_options=read_options,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=convert_options,
        )
    except pa.ArrowInvalid as exc:
        error = translate_error(exc, source, header, read_options.block_size)
        raise error if isinstance(error, DatasetError) else DatasetError(str(exc)) from None
    schema = reader.schema
    reader.close()
    return schema


def _numeric_type(data_type: pa.DataType) -> bool:
    return pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type)


def _to_float(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


class RawStore:
    """Pass 1 keeps the parsed values on disk (numbers as float64, categories as codes), so the
    CSV text is parsed once; later passes read row ranges back with plain reads, not mmap."""

    def __init__(self, folder: Path, numeric: list[str], categorical: list[str]) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.numbers_path = folder / "raw-numbers.bin"
        self.codes_path = folder / "raw-codes.bin"
        self.dictionaries: dict[str, dict[str, int]] = {name: {} for name in categorical}
        self.rows = 0
        self._numbers = open(self.numbers_path, "wb")  # noqa: SIM115 - closed in seal()
        self._codes = open(self.codes_path, "wb")  # noqa: SIM115

    def append(self, numbers: np.ndarray, codes: np.ndarray) -> None:
        for handle, block, dtype in ((self._numbers, numbers, np.float64), (self._codes, codes, np.int32)):
            data = np.ascontiguousarray(block, dtype=dtype)
            if data.size:  # the array's own bytes, without a copy
                handle.write(memoryview(data).cast("B"))
        self.rows += len(numbers)

    def encode(self, name: str, array: pa.Array) -> np.ndarray:
        """Codes into this column's dictionary of every value seen; -1 for missing."""
        encoded = array.dictionary_encode()
        lookup = self.dictionaries[name]
        values = encoded.dictionary.to_pylist()
        mapping = np.array([lookup.setdefault(v, len(lookup)) for v in values] + [-1], dtype=np.int32)
        return mapping[encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)]

    def seal(self) -> None:
        self._numbers.close()
        self._codes.close()

    def chunks(self, rows_per_chunk: int = 65_536) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for start in range(0, self.rows, rows_per_chunk):
            yield self.chunk(start, min(rows_per_chunk, self.rows - start))

    def chunk(self, start: int, n: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Rows start..start+n (numbers, codes); positioned reads, so several threads may read at once."""
        k_num, k_cat = len(self.numeric), len(self.categorical)
        return (
            start,
            _read_rows(self.numbers_path, start * k_num * 8, n * k_num * 8, np.float64).reshape(n, k_num),
            _read_rows(self.codes_path, start * k_cat * 4, n * k_cat * 4, np.int32).reshape(n, k_cat),
        )

    def map_chunks(self, work: Callable[[int, np.ndarray, np.ndarray], T], rows_per_chunk: int = 65_536) -> Iterator[T]:
        """work(start, numbers, codes) for each chunk in order, computed on PARALLEL_CHUNKS threads (numpy
        and the reads release the GIL) with a few chunks in flight, so memory stays bounded."""
        starts = iter(range(0, self.rows, rows_per_chunk))

        def job(start: int) -> T:
            return work(*self.chunk(start, min(rows_per_chunk, self.rows - start)))

        with ThreadPoolExecutor(PARALLEL_CHUNKS, thread_name_prefix="ingest") as pool:
            pending: deque[Future[T]] = deque(pool.submit(job, start) for start in islice(starts, PARALLEL_CHUNKS + 1))
            try:
                while pending:
                    result = pending.popleft().result()
                    for start in islice(starts, 1):
                        pending.append(pool.submit(job, start))
                    yield result
            finally:
                for future in pending:
                    future.cancel()

    def remove(self) -> None:
        for path in (self.numbers_path, self.codes_path):
            path.unlink(missing_ok=True)


def _read_rows(path: Path, offset: int, size: int, dtype: Any) -> np.ndarray:
    if not size:
        return np.empty(0, dtype=dtype)
    with open(path, "rb", buffering=0) as handle:
        data = os.pread(handle.fileno(), size, offset)
    if len(data) != size:
        raise OSError(f"{path.name}: short read at {offset}")
    return np.frombuffer(data, dtype=dtype)


def _scan(
    source: Path,
    header: list[str],
    columns: list[ColumnScan],
    collector: TargetCollector,
    limits: Limits,
    store: RawStore,
    splittable: bool = False,
) -> int:
    """Pass 1: parse once. Raises ColumnTypeMismatch to restart with a corrected type."""
    numeric = [c for c in columns if c.kind == "numeric"]
    categorical = [c for c in columns if c.kind == "categorical"]
    types = {c.name: pa.float64() for c in numeric} | {c.name: pa.string() for c in categorical}
    types[collector.column] = pa.string()
    include = [c.name for c in numeric + categorical] + [collector.column]
    rows = 0
    batches = iter_batches(source, header, limits, column_types=types, include=include, splittable=splittable)
    for batch in batches:
        n = batch.num_rows
        numbers = np.empty((n, len(numeric)), dtype=np.float64)
        for j, column in enumerate(numeric):
            values = _to_float(batch.column(column.name))
            numbers[:, j] = values
            missing = np.isnan(values)
            present = values[~missing] if missing.any() else values
            column.missing += n - len(present)
            if len(present):
                low, high = float(present.min()), float(present.max())
                if np.isinf(low) or np.isinf(high):
                    line = rows + int(np.nonzero(np.isinf(values))[0][0]) + 2
                    raise DatasetError(
                        f"Column {column.name!r} has an infinite value on line {line:,}. "
                        "Replace it with a number, or leave the cell empty to mark it missing."
                    )
                column.minimum = min(column.minimum, low)
                column.maximum = max(column.maximum, high)
                column.total += float(present.sum())
                column.count += len(present)
            if not column.distinct_capped:
                column.distinct.update(np.unique(present[: _DISTINCT_TRACKED + 1]).tolist())
                column.distinct_capped = len(column.distinct) > _DISTINCT_TRACKED
        codes = np.empty((n, len(categorical)), dtype=np.int32)
        for j, column in enumerate(categorical):
            data = batch.column(column.name)
            column.missing += data.null_count
            codes[:, j] = store.encode(column.name, data)
            if not column.overridden and len(store.dictionaries[column.name]) > limits.auto_categorical_max:
                column.distinct_capped = True
            if len(store.dictionaries[column.name]) > limits.max_distinct_values:
                raise DatasetError(
                    f"Column {column.name!r} has more than {limits.max_distinct_values:,} distinct values; "
                    "set it to ignore in column_types."
                )
        store.append(numbers, codes)
        collector.add(batch.column(collector.column))
        rows += n
    for column in categorical:
        column.distinct = set(store.dictionaries[column.name])
        column.distinct_capped = len(column.distinct) > _DISTINCT_TRACKED
    return rows


def _scan_with_retries(
    source: Path,
    header: list[str],
    columns: list[ColumnScan],
    target: str,
    task: str,
    limits: Limits,
    folder: Path,
    splittable: bool = False,
) -> tuple[int, TargetCollector, RawStore]:
    by_index = {header.index(c.name): c for c in columns}
    for _ in range(len(columns) + 1):
        collector = TargetCollector(target, task, limits)
        for column in columns:
            column.missing, column.count, column.total = 0, 0, 0.0
            column.minimum, column.maximum = np.inf, -np.inf
            column.distinct, column.distinct_capped = set(), False
        store = RawStore(
            folder,
            [c.name for c in columns if c.kind == "numeric"],
            [c.name for c in columns if c.kind == "categorical"],
        )
        try:
            rows = _scan(source, header, columns, collector, limits, store, splittable)
            store.seal()
            return rows, collector, store
        except ColumnTypeMismatch as mismatch:
            store.seal()
            store.remove()
            # pyarrow names the column by its position in the file.
            column = by_index.get(mismatch.column_index)
            if column is None:
                raise DatasetError(
                    f"The target column has a value that cannot be read: {mismatch.value[:40]!r}"
                ) from None
            if column.overridden:
                raise DatasetError(
                    f"Column {column.name!r} was set to numeric, but it has the value {mismatch.value[:40]!r}, "
                    "which is not a number. Fix the value or set the column to categorical."
                ) from None
            column.kind = "categorical"  # numbers in the first block, text later: treat it as text
        except BaseException:
            store.seal()
            store.remove()
            raise
    raise DatasetError("The column types could not be worked out; set them explicitly with column_types.")


def _fit(
    features: list[ColumnScan], store: RawStore, split: np.ndarray, limits: Limits, encoding: str
) -> list[dict[str, Any]]:
    """Pass 2 (over the stored values): preprocessing parameters from the training rows only."""
    used = {c.name for c in features}
    numeric_used = [j for j, name in enumerate(store.numeric) if name in used]
    moments = RunningMoments(len(numeric_used))
    counts = {
        name: np.zeros(len(store.dictionaries[name]), dtype=np.int64) for name in store.categorical if name in used
    }

    def summarise(start: int, numbers: np.ndarray, codes: np.ndarray) -> tuple[Any, dict[str, np.ndarray]]:
        train = split[start : start + len(numbers)] == TRAIN
        block = numbers[train][:, numeric_used] if len(numeric_used) < numbers.shape[1] else numbers[train]
        train_codes = codes[train]
        found = {}
        for j, name in enumerate(store.categorical):
            if name in counts:
                column_codes = train_codes[:, j]
                found[name] = np.bincount(column_codes[column_codes >= 0], minlength=len(counts[name]))
        return RunningMoments.of_block(block), found

    for summary, found in store.map_chunks(summarise):  # merged in file order: the same figures as one thread
        moments.merge(summary)
        for name, column_counts in found.items():
            counts[name] += column_counts
    stds = moments.std()
    position = {store.numeric[j]: p for p, j in enumerate(numeric_used)}
    fitted: list[dict[str, Any]] = []
    for column in features:
        if column.kind == "numeric":
            p = position[column.name]
            if moments.n[p] == 0:
                column.note = "empty in every training row; left out"
                column.kind = "ignore"
                continue
            std, mean = float(stds[p]), float(moments.mean[p])
            fitted.append(
                {
                    "name": column.name,
                    "type": "numeric",
                    "mean": mean,
                    "std": std if std > 1e-12 else 1.0,
                    "impute": mean,
                }
            )
            if std <= 1e-12:
                column.note = "the same value in every training row"
        else:
            names = list(store.dictionaries[column.name])
            column_counts = counts[column.name]
            ranked = sorted(
                ((names[i], int(c)) for i, c in enumerate(column_counts) if c > 0), key=lambda item: (-item[1], item[0])
            )
            if not ranked:
                column.note = "empty in every training row; left out"
                column.kind = "ignore"
                continue
            if len(ranked) > limits.max_categories:
                column.note = f"only the {limits.max_categories:,} most frequent categories are kept"
            categories = [value for value, _ in ranked[: limits.max_categories]]
            fitted.append(
                {
                    "name": column.name,
                    "type": "categorical",
                    "categories": categories,
                    "encoding": encoding,
                    "impute": categories[0],
                }
            )
    return fitted


def _write(doc: dict[str, Any], store: RawStore, split: np.ndarray, target: Target, out_dir: Path) -> None:
    """Pass 3 (over the stored values): every row through the shared transform, into its split's files."""
    width = int(doc["input_shape"][0])
    y_all = target.y.astype(np.int64 if target.task == "classification" else np.float32)
    writers = SplitWriters(out_dir, split_counts(split), (width,), np.float32, y_all.dtype)
    numeric_at = {name: j for j, name in enumerate(store.numeric)}
    categorical_at = {name: j for j, name in enumerate(store.categorical)}
    # Code -> original text; the last slot (code -1) is a missing cell.
    values_of = {name: np.array([*store.dictionaries[name], None], dtype=object) for name in store.categorical}

    # Every stored column, in order, is a numeric feature: the stored block is what transform_columns
    # would stack, so it goes to the same numeric encoding without being taken apart and stacked again.
    stacked = [f["name"] for f in doc["features"]] == store.numeric

    def transform(start: int, numbers: np.ndarray, codes: np.ndarray) -> tuple[int, np.ndarray]:
        if stacked:
            X = preprocessing.encode_numeric_block(numbers, doc["features"])
        else:
            columns: dict[str, Any] = {}
            for feature in doc["features"]:
                name = feature["name"]
                if feature["type"] == "numeric":
                    columns[name] = numbers[:, numeric_at[name]]
                else:
                    columns[name] = values_of[name][codes[:, categorical_at[name]]]
            X = preprocessing.transform_columns(doc, columns)
        if not np.isfinite(X).all():
            raise DatasetError(
                "Some numbers are too large to standardise in 32-bit floating point; rescale those columns."
            )
        return start, X

    try:
        # Chunks are transformed on threads and written here, in order.
        for start, X in store.map_chunks(transform):
            n = len(X)
            writers.write(split[start : start + n], X, y_all[start : start + n], np.arange(start, start + n))
    except BaseException:
        writers.abort()
        raise
    writers.close()


def ingest_tabular(upload: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
    # A semicolon CSV, a UTF-16 or Windows-1252 file, Parquet or Excel: read once into a plain CSV.
    source, file_format, byte_scan = prepare_table(upload, options, limits)
    if source != upload and limits.storage_room_bytes is not None:  # the plain copy counts against the quota
        copy_bytes = source.stat().st_size
        if copy_bytes > limits.storage_room_bytes:
            raise DatasetError(
                f"Read as a plain table the file takes {human_bytes(copy_bytes)}, but only "
                f"{human_bytes(limits.storage_room_bytes)} of your storage quota is left. Delete datasets or "
                "jobs you no longer need, or ask an administrator for a larger quota."
            )
        limits = replace(limits, storage_room_bytes=limits.storage_room_bytes - copy_bytes)
    header = read_header(source, limits)
    target = options.get("target_column") or header[-1]
    if target not in header:
        raise DatasetError(f"There is no column {show_name(target)}. The columns are: {_listing(header)}.")
    overrides: dict[str, str] = options.get("column_types") or {}
    unknown = [name for name in overrides if name not in header]
    if unknown:
        raise DatasetError(
            f"column_types names {show_name(unknown[0])}, which is not a column. The columns are: {_listing(header)}."
        )
    if target in overrides:
        raise DatasetError(f"{show_name(target)} is the target column; its type comes from the task, not column_types.")
    if len(header) < 2:
        raise DatasetError("The file has only one column. A table needs input columns and a target column.")

    schema = _first_block_schema(source, header, limits, target)
    columns: list[ColumnScan] = []
    for name in header:
        if name == target:
            continue
        if name in overrides:
            columns.append(ColumnScan(name, overrides[name], overridden=True))
        else:
            kind = "numeric" if _numeric_type(schema.field(name).type) else "categorical"
            columns.append(ColumnScan(name, kind))

    rows, collector, store = _scan_with_retries(
        source, header, columns, target, options.get("task", ""), limits, out_dir, byte_scan.splittable
    )
    try:
        result = _finish(source, options, out_dir, limits, header, target, columns, rows, collector, store)
    finally:
        store.remove()
    result.profile["file"] = file_format.describe()
    return result


def _finish(
    source: Path,
    options: dict[str, Any],
    out_dir: Path,
    limits: Limits,
    header: list[str],
    target: str,
    columns: list[ColumnScan],
    rows: int,
    collector: TargetCollector,
    store: RawStore,
) -> IngestResult:
    if rows == 0:
        raise DatasetError("The file has a header row but no data rows.")
    for column in columns:
        if column.kind == "categorical" and not column.overridden:
            if len(column.distinct) > limits.auto_categorical_max:
                column.kind = "ignore"
                column.note = (
                    f"more than {limits.auto_categorical_max} distinct values (an identifier or free text?); "
                    "left out unless set to categorical"
                )
    target_info = collector.finish()
    labels = target_info.y if target_info.task == "classification" else None
    split = assign_splits(rows, options["split"], options["seed"], labels=labels, usable=target_info.usable)

    features = [c for c in columns if c.kind != "ignore"]
    if not features:
        raise DatasetError("No input column is usable: every column is empty, ignored or an identifier.")
    fitted = _fit(features, store, split, limits, options["encoding"])
    if not fitted:
        raise DatasetError("No input column has values in the training rows.")
    width = sum(preprocessing.feature_width(f) for f in fitted)
    if width > limits.max_feature_width:
        raise DatasetError(
            f"One-hot encoding makes {width:,} inputs (limit {limits.max_feature_width:,}). "
            "Use index encoding, or set high-cardinality columns to ignore."
        )
    y_dtype = np.int64 if target_info.task == "classification" else np.float32  # as _write stores it
    estimate = arrays_bytes(sum(split_counts(split).values()), (width,), np.float32, y_dtype)
    check_room(estimate, out_dir, limits, cap=table_cap(source, limits), hint=_widest(fitted))
    doc: dict[str, Any] = {
        "format": preprocessing.FORMAT,
        "kind": "tabular",
        "task": target_info.task,
        "target_column": target,
        "class_names": target_info.class_names,
        "features": fitted,
        "input_shape": [width],
        "missing_values": list(preprocessing.MISSING_TOKENS),
    }
    if target_info.task == "regression":
        doc["target_scaling"] = preprocessing.fit_target_scaling(target_info.y[(split == TRAIN) & target_info.usable])
    _write(doc, store, split, target_info, out_dir)
    write_json(out_dir / "preprocessing.json", doc)
    (out_dir / "thumbs").mkdir(exist_ok=True)
    profile = _profile(rows, columns, target, target_info, split, width)
    return IngestResult(target_info.task, [width], target_info.class_names, profile, doc)


def _widest(fitted: list[dict[str, Any]]) -> str:
    """Name the columns that make the arrays wide, for the message that refuses them."""
    wide = sorted((f for f in fitted if preprocessing.feature_width(f) > 1), key=preprocessing.feature_width,
                  reverse=True)  # fmt: skip
    if not wide:
        return "Upload fewer rows or columns."
    names = ", ".join(f"{f['name']!r} ({preprocessing.feature_width(f):,} one-hot inputs)" for f in wide[:5])
    return (
        f"Most of the width comes from one-hot encoding {names}. Use index encoding "
        '("encoding": "index"), or set those columns to "ignore" in column_types.'
    )


def _profile(
    rows: int, columns: list[ColumnScan], target: str, info: Target, split: np.ndarray, width: int
) -> dict[str, Any]:
    column_profiles = []
    for column in columns:
        entry: dict[str, Any] = {"name": column.name, "type": column.kind, "missing": column.missing}
        entry["distinct"] = None if column.distinct_capped else len(column.distinct)
        if column.count:
            entry.update(min=column.minimum, max=column.maximum, mean=column.total / column.count)
        if column.missing and column.kind != "ignore":
            entry["imputed"] = column.missing
        if column.note:
            entry["note"] = column.note
        column_profiles.append(entry)
    target_profile: dict[str, Any] = {"column": target, "task": info.task, "missing": info.missing}
    if info.task == "classification":
        target_profile["classes"] = [
            {"name": n, "count": c} for n, c in zip(info.class_names, info.class_counts, strict=True)
        ]
    else:
        values = info.y[info.usable]
        target_profile.update(min=float(values.min()), max=float(values.max()), mean=float(values.mean()))
    notes = []
    if info.missing:
        notes.append(f"{info.missing:,} rows have no target value and are left out.")
    imputed = sum(c.missing for c in columns if c.kind != "ignore")
    if imputed:
        notes.append(
            f"{imputed:,} missing values were filled in (mean or most frequent category of the training rows)."
        )
    return {
        "kind": "tabular",
        "rows": rows,
        "columns": column_profiles,
        "target": target_profile,
        "splits": split_counts(split),
        "input_width": width,
        "notes": notes,
    }


def _listing(names: list[str]) -> str:
    return show_columns(names)
