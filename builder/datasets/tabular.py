"""Tables: a CSV file with a target column -> standardised, encoded float32 arrays.

One parse and one short pass after it, memory bounded by a block plus per-row ids and targets:
1. parse (streamed, pieces parsed on pyarrow's threads): column types, missing values, infinities,
   the target and its classes; each row's split is decided as it arrives (split.BlockSplitter: in
   blocks per class, so no pass over the whole target is needed first); the row is stored in its
   split's RawStore (numbers as float64, categories as codes), and the training rows' moments
   (Chan et al.) and category counts are merged in as they come, so the fit is known at the end;
2. write: each split's stored rows through the shared transform (preprocessing), on several
   threads, each row written at its place in file order.
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
from builder.datasets.split import PENDING, SPLIT_NAMES, TRAIN, BlockSplitter
from builder.datasets.tablefile import prepare_table
from builder.datasets.targets import Target, TargetCollector

_DISTINCT_TRACKED = 1000
# Threads for the passes over the stored values (fit, write): pyarrow's count, as its parse uses.
PARALLEL_CHUNKS = max(1, min(pa.cpu_count(), 8))
CHUNK_ROWS = 65_536
# Parsed rows an ingestion keeps in memory (the rest go to disk until the last pass reads them back):
# a 285 MB table of 20 numeric columns fits, a 1 GiB one spills about three quarters.
RAW_MEMORY_BYTES = 256 * 1024**2
TEXT_CODES = pa.dictionary(pa.int32(), pa.string())
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
    def of_block(block: np.ndarray, complete: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(count, mean, sum of squared deviations) per column of one block; None when it has no rows.
        complete: the caller knows no value is missing. Merging blocks in order gives the same figures
        wherever they were summarised."""
        if not len(block):
            return None
        present = None if complete else ~np.isnan(block)
        if present is None or present.all():
            n_b = np.full(block.shape[1], float(len(block)))
            mean_b = block.mean(axis=0)
            centred = block - mean_b
            m2_b = np.einsum("ij,ij->j", centred, centred)
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
    """One split's parsed rows (numbers as float64, categories as codes), in the order they were decided,
    in chunks of CHUNK_ROWS rows: kept in memory while the ingestion's RAW_MEMORY_BYTES last, then on
    disk (read back with plain reads, not mmap); their row ids and targets in memory."""

    def __init__(self, folder: Path, name: str, numeric: int, categorical: int, budget: list[int]) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.numbers_path = folder / f"raw-numbers-{name}.bin"
        self.codes_path = folder / f"raw-codes-{name}.bin"
        self.rows = 0
        self.ids: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []
        self._budget = budget  # bytes of memory left, shared by the splits' stores
        self._chunks: list[tuple[int, int, tuple[np.ndarray, np.ndarray] | int]] = []  # start, rows, arrays or disk row
        self._disk_rows = 0
        self._files: tuple[Any, Any] | None = None
        self._numbers, self._codes = self._buffers()
        self._filled = 0

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.empty((CHUNK_ROWS, self.numeric)), np.empty((CHUNK_ROWS, self.categorical), dtype=np.int32))

    def append(
        self,
        numbers: np.ndarray,
        codes: np.ndarray,
        at: np.ndarray | None,
        ids: np.ndarray,
        targets: np.ndarray,
        on_rows: Callable[[np.ndarray, np.ndarray], None] | None = None,
    ) -> None:
        """Rows `at` of numbers and codes (all with None), gathered straight into the chunk being filled;
        on_rows(numbers, codes) sees each part as stored."""
        count = len(numbers) if at is None else len(at)
        done = 0
        while done < count:
            take = min(CHUNK_ROWS - self._filled, count - done)
            into = slice(self._filled, self._filled + take)
            if at is None:
                self._numbers[into] = numbers[done : done + take]
                self._codes[into] = codes[done : done + take]
            else:
                rows = at[done : done + take]
                np.take(numbers, rows, axis=0, out=self._numbers[into], mode="clip")
                np.take(codes, rows, axis=0, out=self._codes[into], mode="clip")
            if on_rows is not None:
                on_rows(self._numbers[into], self._codes[into])
            self._filled += take
            done += take
            if self._filled == CHUNK_ROWS:
                self._store_chunk()
        self.ids.append(ids)
        self.targets.append(targets)
        self.rows += count

    def _store_chunk(self) -> None:
        n = self._filled
        start = self._chunks[-1][0] + self._chunks[-1][1] if self._chunks else 0
        size = n * (self.numeric * 8 + self.categorical * 4)
        if size <= self._budget[0]:  # kept as it is; the next chunk gets new buffers
            self._budget[0] -= size
            self._chunks.append((start, n, (self._numbers[:n], self._codes[:n])))
            self._numbers, self._codes = self._buffers()
        else:
            if self._files is None:
                self._files = (open(self.numbers_path, "wb"), open(self.codes_path, "wb"))  # noqa: SIM115
            for handle, block in zip(self._files, (self._numbers[:n], self._codes[:n]), strict=True):
                if block.size:  # the array's own bytes, without a copy
                    handle.write(memoryview(block).cast("B"))
            self._chunks.append((start, n, self._disk_rows))
            self._disk_rows += n
        self._filled = 0

    def seal(self) -> None:
        if self._filled:
            self._store_chunk()
        if self._files is not None:
            for handle in self._files:
                handle.close()
            self._files = None

    def chunk(
        self, start: int, n: int, where: tuple[np.ndarray, np.ndarray] | int
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """One stored chunk (numbers, codes); positioned reads, so several threads may read at once."""
        if not isinstance(where, int):
            return start, *where
        k_num, k_cat = self.numeric, self.categorical
        return (
            start,
            _read_rows(self.numbers_path, where * k_num * 8, n * k_num * 8, np.float64).reshape(n, k_num),
            _read_rows(self.codes_path, where * k_cat * 4, n * k_cat * 4, np.int32).reshape(n, k_cat),
        )

    def map_chunks(self, work: Callable[[int, np.ndarray, np.ndarray], T]) -> Iterator[T]:
        """work(start, numbers, codes) for each chunk in order, computed on PARALLEL_CHUNKS threads (numpy
        and the reads release the GIL) with a few chunks in flight, so memory stays bounded."""
        chunks = iter(self._chunks)

        def job(entry: tuple[int, int, Any]) -> T:
            return work(*self.chunk(*entry))

        with ThreadPoolExecutor(PARALLEL_CHUNKS, thread_name_prefix="ingest") as pool:
            pending: deque[Future[T]] = deque(pool.submit(job, entry) for entry in islice(chunks, PARALLEL_CHUNKS + 1))
            try:
                while pending:
                    result = pending.popleft().result()
                    for entry in islice(chunks, 1):
                        pending.append(pool.submit(job, entry))
                    yield result
            finally:
                for future in pending:
                    future.cancel()

    def remove(self) -> None:
        self._chunks = []
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


class _Waiting:
    """Rows whose split is not known yet (their block of the split is not full): kept in memory, a
    few per class, until the splitter decides them."""

    def __init__(self, numeric: int, categorical: int) -> None:
        self.ids = np.empty(0, dtype=np.int64)
        self.numbers = np.empty((0, numeric))
        self.codes = np.empty((0, categorical), dtype=np.int32)
        self.targets: np.ndarray | None = None

    def put(self, ids: np.ndarray, numbers: np.ndarray, codes: np.ndarray, targets: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, ids])
        self.numbers = np.concatenate([self.numbers, numbers])
        self.codes = np.concatenate([self.codes, codes])
        self.targets = targets.copy() if self.targets is None else np.concatenate([self.targets, targets])

    def take(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows of these ids (every one waiting), removed."""
        at = np.searchsorted(self.ids, ids)
        assert self.targets is not None and np.array_equal(self.ids[at], ids)
        taken = self.numbers[at], self.codes[at], self.targets[at]
        keep = np.ones(len(self.ids), dtype=bool)
        keep[at] = False
        self.ids, self.numbers, self.codes, self.targets = (
            self.ids[keep], self.numbers[keep], self.codes[keep], self.targets[keep])  # fmt: skip
        return taken


class TableSink:
    """Parsed rows, batch by batch: each is split as it arrives (split.BlockSplitter), written to its
    split's RawStore, and the training rows' moments and category counts are merged in as they come,
    so the fit needs no pass of its own."""

    def __init__(
        self, folder: Path, numeric: list[str], categorical: list[str], fractions: Any, seed: int, task: str | None
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.task = task
        self.dictionaries: dict[str, dict[str, int]] = {name: {} for name in categorical}
        self.splitter = BlockSplitter(fractions, seed)
        budget = [RAW_MEMORY_BYTES]
        self.stores = [RawStore(folder, name, len(numeric), len(categorical), budget) for name in SPLIT_NAMES]
        self.moments = RunningMoments(len(numeric))
        self.category_counts = {name: np.zeros(0, dtype=np.int64) for name in categorical}
        self.waiting = _Waiting(len(numeric), len(categorical))
        self.rows = 0

    def encode(self, name: str, array: pa.Array) -> np.ndarray:
        """Codes into this column's dictionary of every value seen; -1 for missing."""
        encoded = array.dictionary_encode()  # as it is when the reader encoded it
        lookup = self.dictionaries[name]
        values = encoded.dictionary.to_pylist()
        mapping = np.array([lookup.setdefault(v, len(lookup)) for v in values] + [-1], dtype=np.int32)
        indices = encoded.indices.fill_null(len(values)) if encoded.indices.null_count else encoded.indices
        return mapping[indices.to_numpy(zero_copy_only=False)]

    def add(
        self, numbers: np.ndarray, codes: np.ndarray, groups: np.ndarray, targets: np.ndarray, complete: bool
    ) -> None:
        """One batch: numbers (n, numeric) float64, codes (n, categorical), the split group and target of
        each row; complete: no number is missing (NaN) in the batch."""
        n = len(numbers)
        split, done_ids, done_split = self.splitter.add(groups, self.rows)
        ids = np.arange(self.rows, self.rows + n, dtype=np.int64)
        self.rows += n
        later = np.flatnonzero(split == PENDING) if split.min(initial=0) < 0 else ()
        if len(later):  # first, as rows of this batch may be among those decided now
            self.waiting.put(ids[later], numbers[later], codes[later], targets[later])
        if len(done_ids):
            self._emit(*self.waiting.take(done_ids), done_ids, done_split, complete=False)
        if split.min(initial=0) >= 0:  # every row decided
            self._emit(numbers, codes, targets, ids, split, complete)
        else:
            now = np.flatnonzero(split >= 0)
            self._emit(numbers[now], codes[now], targets[now], ids[now], split[now], complete)

    def finish(self) -> None:
        ids, split = self.splitter.finish()
        if len(ids):
            order = np.argsort(ids, kind="stable")
            ids, split = ids[order], split[order]
            self._emit(*self.waiting.take(ids), ids, split, complete=False)
        for store in self.stores:
            store.seal()

    def remove(self) -> None:
        for store in self.stores:
            store.seal()
            store.remove()

    def _emit(
        self, numbers: np.ndarray, codes: np.ndarray, targets: np.ndarray, ids: np.ndarray, split: np.ndarray,
        complete: bool,
    ) -> None:  # fmt: skip
        if not len(split):
            return
        counts = np.bincount(split, minlength=3)
        order = None if counts.max() == len(split) else np.argsort(split, kind="stable")
        start = 0
        for index, count in enumerate(counts.tolist()):
            if not count:
                continue
            at = None if order is None else order[start : start + count]
            start += count
            chosen = (ids, targets) if at is None else (ids[at], targets[at])
            fit = self._fit_rows(complete) if index == TRAIN else None
            self.stores[index].append(numbers, codes, at, *chosen, on_rows=fit)

    def _fit_rows(self, complete: bool) -> Callable[[np.ndarray, np.ndarray], None]:
        def fit(numbers: np.ndarray, codes: np.ndarray) -> None:
            self.moments.merge(RunningMoments.of_block(numbers, complete))
            for j, name in enumerate(self.categorical):
                column = codes[:, j]
                found = np.bincount(column[column >= 0], minlength=len(self.dictionaries[name]))
                total = self.category_counts[name]
                if len(found) > len(total):
                    total = np.concatenate([total, np.zeros(len(found) - len(total), dtype=np.int64)])
                total[: len(found)] += found
                self.category_counts[name] = total

        return fit


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
        if numeric and n:  # rows of float64, missing as NaN, laid out by pyarrow in one go
            names = [c.name for c in numeric]
            numbers = np.asarray(batch.select(names).to_tensor(null_to_nan=True, row_major=True))
        else:
            numbers = np.empty((n, len(numeric)), dtype=np.float64)
        complete = True
        for column in numeric:
            values = _to_float(batch.column(column.name))
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
        codes = np.empty((n, len(categorical)), dtype=np.int32)
        for j, column in enumerate(categorical):
            data = batch.column(column.name)
            column.missing += data.null_count
            codes[:, j] = sink.encode(column.name, data)
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


def _standardise(values: np.ndarray, features: list[dict[str, Any]], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """encode_numeric_block's answer, bit for bit: (values - mean) / std in float64, rounded to float32 as it
    is stored; a block with a missing value or a number past float32 goes through encode_numeric_block."""
    centred = values - mean
    out = np.empty(values.shape, dtype=np.float32)
    np.divide(centred, std, out=out, casting="same_kind")
    if out.size and not (out.max() < FLOAT32_MAX and out.min() > -FLOAT32_MAX):  # NaN fails both
        try:
            out = preprocessing.encode_numeric_block(values, features)  # imputes, or refuses with the column's name
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
    """The last pass: each split's stored rows through the shared transform, written in file order."""
    width = int(doc["input_shape"][0])
    y_dtype = np.int64 if target.task == "classification" else np.float32
    numeric_at = {name: j for j, name in enumerate(sink.numeric)}
    categorical_at = {name: j for j, name in enumerate(sink.categorical)}
    # Code -> original text; the last slot (code -1) is a missing cell.
    values_of = {name: np.array([*sink.dictionaries[name], None], dtype=object) for name in sink.categorical}
    # Every stored column, in order, is a numeric feature: the stored block is what transform_columns
    # would stack, so it goes to the same numeric encoding without being taken apart and stacked again.
    stacked = [f["name"] for f in doc["features"]] == sink.numeric
    mean = np.array([float(f["mean"]) for f in doc["features"]]) if stacked else None
    std = np.array([float(f["std"]) for f in doc["features"]]) if stacked else None

    def transform(start: int, numbers: np.ndarray, codes: np.ndarray) -> tuple[int, np.ndarray]:
        if stacked:  # finite and within float32, or refused, already
            return start, _standardise(numbers, doc["features"], mean, std)  # type: ignore[arg-type]
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

    for name, store in zip(SPLIT_NAMES, sink.stores, strict=True):
        ids = np.concatenate(store.ids) if store.ids else np.empty(0, dtype=np.int64)
        targets = np.concatenate(store.targets) if store.targets else np.empty(0, dtype=y_dtype)
        order = np.argsort(ids, kind="stable")  # nearly sorted: rows kept waiting were stored later
        at = np.empty(len(ids), dtype=np.int64)
        at[order] = np.arange(len(ids))
        y = class_index[targets[order]] if class_index is not None else targets[order]
        for path, array in ((f"y_{name}.npy", y.astype(y_dtype)), (f"ids_{name}.npy", ids[order])):
            writer = NpyWriter(out_dir / path, array.shape, array.dtype)
            writer.write(array)
            writer.close()
        with PositionedNpy(out_dir / f"X_{name}.npy", (len(ids), width), np.float32) as X_file:
            # Chunks are transformed on threads and written here, each row at its place in file order.
            for start, X in store.map_chunks(transform):
                X_file.write_rows(at[start : start + len(X)], X)


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
    counts = {name: store.rows for name, store in zip(SPLIT_NAMES, sink.stores, strict=True)}

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
        train = sink.stores[TRAIN]
        ids, values = np.concatenate(train.ids), np.concatenate(train.targets)
        doc["target_scaling"] = preprocessing.fit_target_scaling(values[np.argsort(ids, kind="stable")])
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
