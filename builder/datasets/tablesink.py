"""Parsed table rows on their way to the stored arrays: split, fitted and kept while the file is read.

Each batch the CSV reader gives is copied, column by column, into the ColumnStore's chunks (in
memory while the ingestion's budget lasts, then in one spill file), which frees pyarrow's buffers
for its next piece. As a batch arrives, its rows get their splits (split.BlockSplitter; a row
whose block is not full yet gets it later, by id) and its training rows are summarised into the
fit: per-column moments (Chan et al.) and category counts, computed column by column while the
batch is still in the cache. The last pass (tabular._write) then reads the chunks in file order,
so every split's rows come out in file order with no sorting.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from builder.datasets.split import PENDING, SPLIT_NAMES, TRAIN, BlockSplitter

T = TypeVar("T")
Columns = tuple[list[np.ndarray], list[np.ndarray]]  # numbers (float64, NaN missing), codes (int32, -1 missing)
# Rows per chunk of the ColumnStore: 10 MiB of float64 for 20 numeric columns.
CHUNK_ROWS = 65_536


class RunningMoments:
    """Per-column count, mean and sum of squared deviations, merged batch by batch (Chan et al.)."""

    def __init__(self, columns: int) -> None:
        self.n = np.zeros(columns)
        self.mean = np.zeros(columns)
        self.m2 = np.zeros(columns)

    def add_columns(self, columns: list[np.ndarray], rows: np.ndarray | None, complete: bool) -> None:
        """The rows `rows` (a mask; None: all) of each column; complete: no value is missing (NaN)."""
        k = len(columns)
        if not k:
            return
        n_b, mean_b, m2_b = np.zeros(k), np.zeros(k), np.zeros(k)
        if complete:
            # Rows chosen by a weight of 1 or 0 rather than gathered: the same sums, with no copy. (einsum,
            # not np.dot: BLAS would start its threads for vectors this long, costing more than it saves.)
            weights = None if rows is None else rows.astype(np.float64)
            count = len(columns[0]) if rows is None else int(np.count_nonzero(rows))
            if not count:
                return
            for j, values in enumerate(columns):
                mean = values.sum() / count if weights is None else np.einsum("i,i->", weights, values) / count
                centred = values - mean
                np.square(centred, out=centred)
                m2 = centred.sum() if weights is None else np.einsum("i,i->", weights, centred)
                n_b[j], mean_b[j], m2_b[j] = count, mean, m2
        else:
            at = None if rows is None else np.flatnonzero(rows)
            for j, values in enumerate(columns):
                chosen = values if at is None else values.take(at)
                chosen = chosen[~np.isnan(chosen)]
                if len(chosen):
                    mean = chosen.sum() / len(chosen)
                    centred = chosen - mean
                    np.square(centred, out=centred)
                    n_b[j], mean_b[j], m2_b[j] = len(chosen), mean, centred.sum()
        self.merge(n_b, mean_b, m2_b)

    def merge(self, n_b: np.ndarray, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        total = self.n + n_b
        safe = np.maximum(total, 1.0)
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / safe
        self.m2 = self.m2 + m2_b + delta * delta * self.n * n_b / safe
        self.n = total

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / np.maximum(self.n, 1.0))


class ColumnStore:
    """The parsed rows' columns, in file order, in chunks of CHUNK_ROWS rows, column by column (numbers
    as float64, codes as int32): each batch's columns are copied in as they come, so pyarrow's buffers are
    freed for its next piece, and a chunk is one allocation (huge pages where numpy asks for them). A full
    chunk is kept while the shared budget of bytes lasts, then appended to one spill file (read back with
    positioned reads, several threads at once)."""

    def __init__(self, folder: Path, numeric: int, categorical: int, budget: int) -> None:
        self.path = folder / "raw-columns.bin"
        self.numeric = numeric
        self.categorical = categorical
        self._budget = budget
        self._chunks: list[tuple[int, Columns | int]] = []  # (rows, the arrays or their place in the file)
        self._file: Any = None
        self._written = 0
        self._numbers, self._codes = self._buffers()
        self._filled = 0

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.empty((self.numeric, CHUNK_ROWS)), np.empty((self.categorical, CHUNK_ROWS), dtype=np.int32))

    def add(self, numbers: list[np.ndarray], codes: list[np.ndarray], rows: int) -> None:
        done = 0
        while done < rows:
            take = min(CHUNK_ROWS - self._filled, rows - done)
            into = slice(self._filled, self._filled + take)
            for j, values in enumerate(numbers):
                self._numbers[j, into] = values[done : done + take]
            for j, values in enumerate(codes):
                self._codes[j, into] = values[done : done + take]
            self._filled += take
            done += take
            if self._filled == CHUNK_ROWS:
                self._store_chunk()

    def _store_chunk(self) -> None:
        n = self._filled
        numbers, codes = self._numbers[:, :n], self._codes[:, :n]
        size = numbers.nbytes + codes.nbytes
        if size <= self._budget:  # kept as it is; the next chunk gets new buffers
            self._budget -= size
            self._chunks.append((n, ([*numbers], [*codes])))
            self._numbers, self._codes = self._buffers()
        else:
            if self._file is None:
                self._file = open(self.path, "wb")  # noqa: SIM115 - closed by seal()
            for block in (numbers, codes):
                block = np.ascontiguousarray(block)
                if block.size:  # the array's own bytes, without a copy
                    self._file.write(memoryview(block).cast("B"))
            self._chunks.append((n, self._written))
            self._written += size
        self._filled = 0

    def seal(self) -> None:
        if self._filled:
            self._store_chunk()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __len__(self) -> int:
        return len(self._chunks)

    def columns(self, index: int) -> Columns:
        """Chunk `index`'s columns (rows index * CHUNK_ROWS onwards)."""
        n, where = self._chunks[index]
        if not isinstance(where, int):
            return where
        k_num, k_cat = self.numeric, self.categorical
        with open(self.path, "rb", buffering=0) as handle:
            numbers = _read(handle.fileno(), where, k_num * n, np.float64).reshape(k_num, n)
            codes = _read(handle.fileno(), where + numbers.nbytes, k_cat * n, np.int32).reshape(k_cat, n)
        return [*numbers], [*codes]

    def map_chunks(self, work: Callable[[int], T], threads: int) -> Iterator[T]:
        """work(index) for every chunk, in order, on `threads` threads (numpy and the reads release the
        GIL) with a few chunks in flight, so memory stays bounded."""
        indices = iter(range(len(self)))
        with ThreadPoolExecutor(threads, thread_name_prefix="ingest") as pool:
            pending: deque[Future[T]] = deque(pool.submit(work, i) for i in islice(indices, threads + 1))
            try:
                while pending:
                    result = pending.popleft().result()
                    for i in islice(indices, 1):
                        pending.append(pool.submit(work, i))
                    yield result
            finally:
                for future in pending:
                    future.cancel()

    def remove(self) -> None:
        self.seal()
        self._chunks = []
        self.path.unlink(missing_ok=True)


def _read(fd: int, offset: int, count: int, dtype: Any) -> np.ndarray:
    size = count * np.dtype(dtype).itemsize
    data = os.pread(fd, size, offset) if size else b""
    if len(data) != size:
        raise OSError(f"short read at {offset}")
    return np.frombuffer(data, dtype=dtype)


class TableSink:
    """Parsed rows, batch by batch: kept (ColumnStore), split as they arrive (split.BlockSplitter), and
    the training rows' moments and category counts merged in as their splits become known."""

    def __init__(
        self,
        folder: Path,
        numeric: list[str],
        categorical: list[str],
        fractions: Any,
        seed: int,
        task: str | None,
        budget: int,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.task = task
        self.dictionaries: dict[str, dict[str, int]] = {name: {} for name in categorical}
        self.splitter = BlockSplitter(fractions, seed)
        self.store = ColumnStore(folder, len(numeric), len(categorical), budget)
        self.moments = RunningMoments(len(numeric))
        self.category_counts = {name: np.zeros(0, dtype=np.int64) for name in categorical}
        self.rows = 0
        self.split: np.ndarray = np.empty(0, dtype=np.int8)  # per row, once finish() has run
        self.targets: np.ndarray = np.empty(0)
        self._splits: list[np.ndarray] = []
        self._targets: list[np.ndarray] = []
        self._late: list[tuple[np.ndarray, np.ndarray]] = []  # (ids, splits) decided after their batch

    def encode(self, name: str, array: pa.Array) -> np.ndarray:
        """Codes into this column's dictionary of every value seen; -1 for missing."""
        encoded = array.dictionary_encode()  # as it is when the reader encoded it
        lookup = self.dictionaries[name]
        values = encoded.dictionary.to_pylist()
        mapping = np.array([lookup.setdefault(v, len(lookup)) for v in values] + [-1], dtype=np.int32)
        indices = encoded.indices.fill_null(len(values)) if encoded.indices.null_count else encoded.indices
        return mapping[indices.to_numpy(zero_copy_only=False)]

    def add(
        self, numbers: list[np.ndarray], codes: list[np.ndarray], groups: np.ndarray, targets: np.ndarray,
        complete: bool,
    ) -> None:  # fmt: skip
        """One batch: a float64 array per numeric column and an int32 code array per categorical one, the
        split group and target of each row; complete: no number is missing (NaN) in the batch."""
        split, done_ids, done_split = self.splitter.add(groups, self.rows)
        self.store.add(numbers, codes, len(groups))
        self._splits.append(split)
        self._targets.append(targets)
        self.rows += len(groups)
        if len(done_ids):
            self._late.append((done_ids, done_split))
        train = split == TRAIN
        if train.any():
            self._fit(numbers, codes, None if train.all() else train, complete)

    def finish(self) -> None:
        """Every row's split known; the training rows decided after their batch are fitted now."""
        self._late.append(self.splitter.finish())
        self.store.seal()
        self.split = np.concatenate(self._splits) if self._splits else np.empty(0, dtype=np.int8)
        self.targets = np.concatenate(self._targets) if self._targets else np.empty(0)
        self._splits, self._targets = [], []
        ids = np.concatenate([i for i, _ in self._late])
        decided = np.concatenate([s for _, s in self._late])
        self._late = []
        self.split[ids] = decided
        assert not (self.split == PENDING).any()
        late_train = np.sort(ids[decided == TRAIN])
        if not len(late_train):
            return
        # Their chunks, in order: each chunk's late training rows fitted as one group.
        chunk_of = late_train // CHUNK_ROWS
        for index in np.unique(chunk_of).tolist():
            rows = late_train[chunk_of == index] - index * CHUNK_ROWS
            numbers, codes = self.store.columns(index)
            self._fit([a[rows] for a in numbers], [a[rows] for a in codes], None, complete=False)

    def split_counts(self) -> dict[str, int]:
        counts = np.bincount(self.split[self.split >= 0], minlength=3)
        return {name: int(counts[i]) for i, name in enumerate(SPLIT_NAMES)}

    def remove(self) -> None:
        self.store.remove()

    def _fit(self, numbers: list[np.ndarray], codes: list[np.ndarray], rows: np.ndarray | None, complete: bool) -> None:
        self.moments.add_columns(numbers, rows, complete)
        for name, column in zip(self.categorical, codes, strict=True):
            chosen = column if rows is None else column[rows]
            found = np.bincount(chosen[chosen >= 0], minlength=len(self.dictionaries[name]))
            total = self.category_counts[name]
            if len(found) > len(total):
                total = np.concatenate([total, np.zeros(len(found) - len(total), dtype=np.int64)])
            total[: len(found)] += found
            self.category_counts[name] = total
