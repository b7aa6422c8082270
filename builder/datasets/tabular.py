"""Tables: a CSV file with a target column -> standardised, encoded float32 arrays.

One parse and one short pass after it (builder.datasets.tablesink holds what is kept between them):
1. parse (streamed, pieces parsed on pyarrow's threads, text dictionary-encoded there): column
   types, missing values, infinities, the target and its classes; each batch's columns are kept
   (copied into column chunks, in memory or spilled to disk), each row's split is decided as it
   arrives (split.BlockSplitter: in blocks per class, so no pass over the whole target is needed
   first), and the training rows' moments (Chan et al.) and category counts are merged in, so the
   fit is known at the end;
2. write: the kept chunks, in file order, through the shared transform (preprocessing) on several
   threads, each split's rows appended to that split's array in file order.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from builder.datasets import preprocessing
from builder.datasets.arrays import NpyWriter, PositionedNpy
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
from builder.datasets.preprocessing import FLOAT32_MAX
from builder.datasets.result import IngestResult, write_json
from builder.datasets.split import SPLIT_NAMES, TRAIN
from builder.datasets.tablefile import prepare_table
from builder.datasets.tablesink import CHUNK_ROWS, TableSink
from builder.datasets.targets import Target, TargetCollector

_DISTINCT_TRACKED = 1000
# Threads for the pass over the kept chunks (the write): pyarrow's count, as its parse uses.
PARALLEL_CHUNKS = max(1, min(pa.cpu_count(), 8))
TEXT_CODES = pa.dictionary(pa.int32(), pa.string())


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


class TaskChanged(Exception):
    """Rows after the first ones make the guessed task another (say a 21st whole number in the target):
    the split so far was grouped for the wrong task, so the file is read again for this one."""

    def __init__(self, task: str) -> None:
        super().__init__(task)
        self.task = task


def _scan(
    source: Path,
    header: list[str],
    columns: list[ColumnScan],
    collector: TargetCollector,
    limits: Limits,
    sink: TableSink,
    splittable: bool = False,
    check_task: bool = True,
) -> int:
    """Pass 1: parse once, split, fit and store. Raises ColumnTypeMismatch to restart with a corrected
    type, TaskChanged to restart grouped for another task (at once with check_task, else at the end)."""
    numeric = [c for c in columns if c.kind == "numeric"]
    categorical = [c for c in columns if c.kind == "categorical"]
    # Text comes dictionary-encoded from the reader's own threads: codes need no hashing pass here.
    types = {c.name: pa.float64() for c in numeric} | {c.name: TEXT_CODES for c in categorical}
    types[collector.column] = TEXT_CODES
    include = [c.name for c in numeric + categorical] + [collector.column]
    rows = 0
    batches = iter_batches(source, header, limits, column_types=types, include=include, splittable=splittable)
    for batch in batches:
        n = batch.num_rows
        numbers: list[np.ndarray] = []  # each column's float64 values, missing as NaN
        complete = True
        for column in numeric:
            values = _to_float(batch.column(column.name))  # pyarrow's own buffer when nothing is missing
            numbers.append(values)
            low, high = (float(values.min()), float(values.max())) if n else (np.inf, -np.inf)
            if np.isnan(low) or np.isnan(high):  # NaN passes through min and max: some are missing
                complete = False
                present = values[~np.isnan(values)]
                low, high = (float(present.min()), float(present.max())) if len(present) else (np.inf, -np.inf)
            else:
                present = values
            column.missing += n - len(present)
            if len(present):
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
        codes: list[np.ndarray] = []
        for column in categorical:
            data = batch.column(column.name)
            column.missing += data.null_count
            codes.append(sink.encode(column.name, data))
            if not column.overridden and len(sink.dictionaries[column.name]) > limits.auto_categorical_max:
                column.distinct_capped = True
            if len(sink.dictionaries[column.name]) > limits.max_distinct_values:
                raise DatasetError(
                    f"Column {column.name!r} has more than {limits.max_distinct_values:,} distinct values; "
                    "set it to ignore in column_types."
                )
        collector.add(batch.column(collector.column))
        if sink.task is None:
            sink.task = collector.task_so_far()
        elif check_task and collector.task_so_far() != sink.task:
            raise TaskChanged(collector.task_so_far())
        groups, targets = collector.last_groups(sink.task)
        sink.add(numbers, codes, groups, targets, complete)
        rows += n
    if sink.task is not None and collector.task_so_far() != sink.task:
        raise TaskChanged(collector.task_so_far())
    sink.finish()
    for column in categorical:
        column.distinct = set(sink.dictionaries[column.name])
        column.distinct_capped = len(column.distinct) > _DISTINCT_TRACKED
    return rows


def _scan_with_retries(
    source: Path,
    header: list[str],
    columns: list[ColumnScan],
    target: str,
    options: dict[str, Any],
    limits: Limits,
    folder: Path,
    splittable: bool = False,
) -> tuple[int, TargetCollector, TableSink]:
    by_index = {header.index(c.name): c for c in columns}
    task = options.get("task", "")
    # The task the split groups rows by: the first batch's guess, unless a read before found another.
    guess: str | None = task or None
    for _ in range(len(columns) + 3):
        collector = TargetCollector(target, task, limits)
        for column in columns:
            column.missing, column.count, column.total = 0, 0, 0.0
            column.minimum, column.maximum = np.inf, -np.inf
            column.distinct, column.distinct_capped = set(), False
        sink = TableSink(
            folder,
            [c.name for c in columns if c.kind == "numeric"],
            [c.name for c in columns if c.kind == "categorical"],
            options["split"],
            options["seed"],
            guess,
            limits.table_memory_bytes,  # the rest go to disk until the last pass reads them back
        )
        try:
            rows = _scan(source, header, columns, collector, limits, sink, splittable, check_task=guess is None)
            return rows, collector, sink
        except TaskChanged as changed:
            # Read again grouped for that task; the first rows may still look like the other one, so it is
            # checked at the end only (where, the whole file read, the guess is final).
            sink.remove()
            guess = changed.task
        except ColumnTypeMismatch as mismatch:
            sink.remove()
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
            sink.remove()
            raise
    raise DatasetError("The column types could not be worked out; set them explicitly with column_types.")


def _fit(features: list[ColumnScan], sink: TableSink, limits: Limits, encoding: str) -> list[dict[str, Any]]:
    """Preprocessing parameters from the training rows only, merged while the file was read."""
    moments = sink.moments
    stds = moments.std()
    position = {name: j for j, name in enumerate(sink.numeric)}
    fitted: list[dict[str, Any]] = []
    for column in features:
        if column.kind == "numeric":
            _check_float32_range(column)
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
            names = list(sink.dictionaries[column.name])
            column_counts = sink.category_counts[column.name]
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


def _check_float32_range(column: ColumnScan) -> None:
    """A number float32 cannot hold would reach the model as infinity: refuse the file, naming the column."""
    largest = max(abs(column.minimum), abs(column.maximum)) if column.count else 0.0
    if largest > FLOAT32_MAX:
        value = column.maximum if abs(column.maximum) >= abs(column.minimum) else column.minimum
        raise DatasetError(
            f"Column {column.name!r} holds {value:g}, beyond what the model's 32-bit numbers can hold "
            f"(about ±{FLOAT32_MAX:.1e}). Rescale the column (for example into thousands or millions), "
            "or remove the rows with such values, and upload the file again."
        )


def _standardise(
    numbers: list[np.ndarray], features: list[dict[str, Any]], mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """encode_numeric_block's answer on these columns, bit for bit: (values - mean) / std in float64, rounded
    to float32 as it is stored; a batch with a missing value or a number past float32 goes through
    encode_numeric_block."""
    out = np.empty((len(numbers[0]) if numbers else 0, len(numbers)), dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # a number past float32 is caught just below
        for j, values in enumerate(numbers):  # a column at a time, while the chunk is in the cache
            np.divide(values - mean[j], std[j], out=out[:, j], casting="same_kind")
    if out.size and not (out.max() < FLOAT32_MAX and out.min() > -FLOAT32_MAX):  # NaN fails both
        try:  # imputes, or refuses with the column's name
            out = preprocessing.encode_numeric_block(np.column_stack(numbers), features)
        except preprocessing.InputError as exc:
            raise DatasetError(
                f"{str(exc)[0].upper()}{str(exc)[1:]}. A value this far from the training rows does not fit the "
                "model's 32-bit numbers once standardised: rescale that column or remove the row, and upload again."
            ) from None
        if not np.isfinite(out).all():
            raise DatasetError(
                "Some numbers are too large to standardise in 32-bit floating point; rescale those columns."
            )
    return out


def _write(doc: dict[str, Any], sink: TableSink, target: Target, class_index: np.ndarray | None, out_dir: Path) -> None:
    """The last pass: the kept batches, in file order, through the shared transform; each batch's rows of
    a split are written at that split's next rows, so every split is in file order."""
    width = int(doc["input_shape"][0])
    y_dtype = np.int64 if target.task == "classification" else np.float32
    numeric_at = {name: j for j, name in enumerate(sink.numeric)}
    categorical_at = {name: j for j, name in enumerate(sink.categorical)}
    # Code -> original text; the last slot (code -1) is a missing cell.
    values_of = {name: np.array([*sink.dictionaries[name], None], dtype=object) for name in sink.categorical}
    # Every kept column, in order, is a numeric feature: the same numeric encoding, a column at a time.
    stacked = [f["name"] for f in doc["features"]] == sink.numeric
    mean = np.array([float(f["mean"]) for f in doc["features"]]) if stacked else None
    std = np.array([float(f["std"]) for f in doc["features"]]) if stacked else None
    bounds = [*range(0, sink.rows, CHUNK_ROWS), sink.rows]  # the store's chunks, in rows

    def transform(numbers: list[np.ndarray], codes: list[np.ndarray]) -> np.ndarray:
        if stacked:  # finite and within float32, or refused, already
            return _standardise(numbers, doc["features"], mean, std)  # type: ignore[arg-type]
        columns: dict[str, Any] = {}
        for feature in doc["features"]:
            name = feature["name"]
            if feature["type"] == "numeric":
                columns[name] = numbers[numeric_at[name]]
            else:
                columns[name] = values_of[name][codes[categorical_at[name]]]
        X = preprocessing.transform_columns(doc, columns)
        if not np.isfinite(X).all():
            raise DatasetError(
                "Some numbers are too large to standardise in 32-bit floating point; rescale those columns."
            )
        return X

    starts: list[np.ndarray] = []  # per split: each chunk's first row in that split's array
    files: list[PositionedNpy] = []

    def write_chunk(index: int) -> None:
        """One chunk through the transform, each split's rows written at their place (on a pool thread)."""
        numbers, codes = sink.store.columns(index)
        part = sink.split[bounds[index] : bounds[index + 1]]
        if part.min(initial=0) < 0:  # rows without a target are not stored
            kept = part >= 0
            numbers, codes, part = [a[kept] for a in numbers], [a[kept] for a in codes], part[kept]
        X = transform(numbers, codes)
        for split, X_file in enumerate(files):
            rows = np.flatnonzero(part == split)
            if len(rows):
                start = int(starts[split][index])
                X_file.write_rows(np.arange(start, start + len(rows)), X[rows])

    with ExitStack() as stack:
        for index, name in enumerate(SPLIT_NAMES):
            ids = np.flatnonzero(sink.split == index)
            targets = sink.targets[ids]
            y = class_index[targets] if class_index is not None else targets
            for path, array in ((f"y_{name}.npy", y.astype(y_dtype)), (f"ids_{name}.npy", ids.astype(np.int64))):
                writer = NpyWriter(out_dir / path, array.shape, array.dtype)
                writer.write(array)
                writer.close()
            starts.append(np.searchsorted(ids, bounds[:-1]))
            files.append(stack.enter_context(PositionedNpy(out_dir / f"X_{name}.npy", (len(ids), width), np.float32)))
        for _ in sink.store.map_chunks(write_chunk, PARALLEL_CHUNKS):
            pass


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

    rows, collector, sink = _scan_with_retries(
        source, header, columns, target, options, limits, out_dir, byte_scan.splittable
    )
    try:
        result = _finish(source, options, out_dir, limits, header, target, columns, rows, collector, sink)
    finally:
        sink.remove()
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
    sink: TableSink,
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
    counts = sink.split_counts()

    features = [c for c in columns if c.kind != "ignore"]
    if not features:
        raise DatasetError("No input column is usable: every column is empty, ignored or an identifier.")
    fitted = _fit(features, sink, limits, options["encoding"])
    if not fitted:
        raise DatasetError("No input column has values in the training rows.")
    width = sum(preprocessing.feature_width(f) for f in fitted)
    if width > limits.max_feature_width:
        raise DatasetError(
            f"One-hot encoding makes {width:,} inputs (limit {limits.max_feature_width:,}). "
            "Use index encoding, or set high-cardinality columns to ignore."
        )
    y_dtype = np.int64 if target_info.task == "classification" else np.float32  # as _write stores it
    estimate = arrays_bytes(sum(counts.values()), (width,), np.float32, y_dtype)
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
        doc["target_scaling"] = preprocessing.fit_target_scaling(sink.targets[sink.split == TRAIN])
    class_index = collector.class_index(target_info) if target_info.task == "classification" else None
    _write(doc, sink, target_info, class_index, out_dir)
    write_json(out_dir / "preprocessing.json", doc)
    (out_dir / "thumbs").mkdir(exist_ok=True)
    profile = _profile(rows, columns, target, target_info, counts, width)
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
    rows: int, columns: list[ColumnScan], target: str, info: Target, splits: dict[str, int], width: int
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
        "splits": splits,
        "input_width": width,
        "notes": notes,
    }


def _listing(names: list[str]) -> str:
    return show_columns(names)
