"""The materialised form: one .npy file per array, read memory-mapped by training.

Arrays are written in streaming fashion (header first, then rows appended), so the
ingest worker never holds a whole split in memory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

SPLITS = ("train", "val", "test")


def load_split(version_dir: str | os.PathLike[str], split: str, mmap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of one split; memory-mapped (read-only) unless mmap=False."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    folder = Path(version_dir)
    mode = "r" if mmap else None
    return np.load(folder / f"X_{split}.npy", mmap_mode=mode), np.load(folder / f"y_{split}.npy", mmap_mode=mode)


def load_ids(version_dir: str | os.PathLike[str], split: str) -> np.ndarray:
    """Original row (tables, text) or file (images) index of each sample in the split."""
    return np.load(Path(version_dir) / f"ids_{split}.npy")


class NpyWriter:
    """Writes an .npy file of known shape row-block by row-block."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: Any) -> None:
        self.path = path
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.rows_written = 0
        self._counting = threading.Lock()
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self._file, header)

    def write(self, block: np.ndarray) -> None:
        if block.shape[1:] != self.shape[1:]:
            raise ValueError(f"{self.path.name}: block shape {block.shape} does not match {self.shape}")
        data = np.ascontiguousarray(block, dtype=self.dtype)
        if data.size:  # the array's own bytes, without the copy that tobytes() makes
            self._file.write(memoryview(data).cast("B"))
        self.rows_written += len(block)

    def close(self) -> None:
        self._file.close()
        if self.rows_written != self.shape[0]:
            raise ValueError(f"{self.path.name}: wrote {self.rows_written} rows, expected {self.shape[0]}")


class SplitWriters:
    """X, y and ids writers for the three splits, fed with whole batches plus their split ids."""

    def __init__(
        self, folder: Path, counts: dict[str, int], x_shape: tuple[int, ...], x_dtype: Any, y_dtype: Any
    ) -> None:
        self._writers: dict[str, tuple[NpyWriter, NpyWriter, NpyWriter]] = {}
        for name in SPLITS:
            n = counts[name]
            self._writers[name] = (
                NpyWriter(folder / f"X_{name}.npy", (n, *x_shape), x_dtype),
                NpyWriter(folder / f"y_{name}.npy", (n,), y_dtype),
                NpyWriter(folder / f"ids_{name}.npy", (n,), np.int64),
            )

    def write(self, split: np.ndarray, X: np.ndarray, y: np.ndarray, ids: np.ndarray) -> None:
        for index, name in enumerate(SPLITS):
            mask = split == index
            if mask.any():
                x_writer, y_writer, id_writer = self._writers[name]
                x_writer.write(X[mask])
                y_writer.write(y[mask])
                id_writer.write(ids[mask])

    def close(self) -> None:
        for writers in self._writers.values():
            for writer in writers:
                writer.close()

    def abort(self) -> None:
        for writers in self._writers.values():
            for writer in writers:
                writer._file.close()


class PositionedNpy:
    """An .npy file of known shape whose rows are written at their places (os.pwrite), in any order and
    from several threads at once."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: Any) -> None:
        self.path = path
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self.rows_written = 0
        self._counting = threading.Lock()
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in __exit__
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self._file, header)
        self._file.flush()
        self.offset = self._file.tell()
        self._file.truncate(self.offset + shape[0] * self.row_bytes)

    def write_rows(self, at: np.ndarray, block: np.ndarray) -> None:
        """block's rows to rows `at` of the array; consecutive places are written in one call."""
        data = np.ascontiguousarray(block, dtype=self.dtype)
        if not len(at):
            return
        breaks = np.flatnonzero(np.diff(at) != 1) + 1
        fd = self._file.fileno()
        for first, last in zip([0, *breaks.tolist()], [*breaks.tolist(), len(at)], strict=True):
            run = memoryview(data[first:last]).cast("B")
            written = os.pwrite(fd, run, self.offset + int(at[first]) * self.row_bytes)
            if written != len(run):
                raise OSError(f"{self.path.name}: short write")
        with self._counting:
            self.rows_written += len(at)

    def __enter__(self) -> PositionedNpy:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self._file.close()
        if kind is None and self.rows_written != self.shape[0]:
            raise ValueError(f"{self.path.name}: wrote {self.rows_written} rows, expected {self.shape[0]}")
