"""The target column, collected batch by batch: class indices, or numbers for regression."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits

# An integer-valued target with at most this many distinct values is taken to be classes.
AUTO_CLASSES_MAX = 20


@dataclass
class Target:
    task: str
    y: np.ndarray  # int64 class index per row (-1 where missing) or float64 value (NaN where missing)
    usable: np.ndarray  # bool per row: the row has a target
    class_names: list[str] = field(default_factory=list)
    class_counts: list[int] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return int(np.count_nonzero(~self.usable))


class TargetCollector:
    """Reads the target as text, so a column of numbers can still be classes ("0", "1", "2")."""

    def __init__(self, column: str, task: str, limits: Limits, allow_regression: bool = True) -> None:
        self.column = column
        self.task = task
        self.limits = limits
        self.allow_regression = allow_regression
        self._ids: dict[str, int] = {}
        self._codes: list[np.ndarray] = []
        self._numbers: list[_Numbers] = []
        self._numeric = True
        self._too_many = False
        self._whole = True  # every number so far finite and whole
        self._example_text = ""

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        """One batch of the target column: text, or dictionary-encoded text as the CSV reader gives it."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        encoded = None if self._too_many else array.dictionary_encode()  # already encoded: returned as it is
        if self._numeric:
            try:
                if encoded is not None:  # each distinct value cast once; rows take theirs when asked
                    distinct = pc.cast(encoded.dictionary, pa.float64())
                    self._numbers.append(_Numbers(distinct.to_numpy(zero_copy_only=False), encoded.indices))
                else:
                    distinct = pc.cast(array, pa.float64())
                    self._numbers.append(_Numbers(distinct.to_numpy(zero_copy_only=False)))
                if self._whole:  # decided on the distinct values: the same answer as on every row
                    present = distinct.to_numpy(zero_copy_only=False)
                    present = present[~np.isnan(present)]
                    self._whole = bool(np.all(np.isfinite(present)) and np.all(present == np.round(present)))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self._numeric = False
                self._numbers = []
                valid = array.drop_null()
                self._example_text = str(valid[0]) if len(valid) else ""
        if encoded is None:
            return
        dictionary = encoded.dictionary.to_pylist()
        mapping = np.empty(len(dictionary) + 1, dtype=np.int64)
        for position, value in enumerate(dictionary):
            mapping[position] = self._ids.setdefault(value, len(self._ids))
        mapping[-1] = -1  # the slot nulls are sent to below
        indices = encoded.indices
        if indices.null_count:
            indices = indices.fill_null(len(dictionary))
        self._codes.append(mapping[indices.to_numpy(zero_copy_only=False)])
        if len(self._ids) > max(self.limits.max_classes, AUTO_CLASSES_MAX):
            self._too_many = True
            self._codes = []

    def finish(self) -> Target:
        task = self.task or self._guess_task()
        if task == "regression":
            return self._regression()
        return self._classification()

    def _guess_task(self) -> str:
        if not self._numeric or not self.allow_regression:
            return "classification"
        if self._too_many:
            return "regression"
        return "classification" if self._whole and len(self._ids) <= AUTO_CLASSES_MAX else "regression"

    def task_so_far(self) -> str:
        """The task finish() would choose if the rows so far were the whole file."""
        return self.task or self._guess_task()

    def last_groups(self, task: str) -> tuple[np.ndarray, np.ndarray]:
        """For the batch added last: (a group per row for the split: its class in the order classes
        first appeared for classification, 0 for regression; -1 without a target, and the row's target:
        that class number or the value)."""
        if task == "regression" and self._numeric and self._numbers:
            values = self._numbers[-1].values()
            return np.where(np.isnan(values), -1, 0), values
        if self._codes:
            return self._codes[-1], self._codes[-1]
        # Too many classes (finish() refuses it) or no numbers: one group, so the split goes on.
        rows = len(self._numbers[-1]) if self._numbers else 0
        return np.zeros(rows, dtype=np.int64), np.zeros(len(values), dtype=np.int64)

    def class_index(self, target: Target) -> np.ndarray:
        """Class number in the order of first appearance -> its index in target.class_names."""
        position = {name: i for i, name in enumerate(target.class_names)}
        return np.array([position[name] for name in self._ids], dtype=np.int64)

    def _regression(self) -> Target:
        if not self._numeric:
            raise DatasetError(
                f"The target column {self.column!r} has text such as {self._example_text[:40]!r}, so it cannot be "
                "predicted by regression. Choose classification, or a column of numbers."
            )
        y = np.concatenate([part.values() for part in self._numbers]) if self._numbers else np.empty(0)
        if np.isinf(y).any():
            row = int(np.nonzero(np.isinf(y))[0][0]) + 2
            raise DatasetError(
                f"The target column {self.column!r} has an infinite value on line {row:,}. "
                "Replace it with a number, or leave it empty to drop that row."
            )
        usable = ~np.isnan(y)
        if not usable.any():
            raise DatasetError(f"The target column {self.column!r} is empty in every row.")
        values = y[usable]
        if values.min() == values.max():
            raise DatasetError(
                f"The target column {self.column!r} has the same value ({values[0]:g}) in every row, "
                "so there is nothing to predict. Choose another target column."
            )
        return Target("regression", y, usable)

    def _classification(self) -> Target:
        if self._too_many:
            raise DatasetError(
                f"The target column {self.column!r} has more than {self.limits.max_classes:,} distinct values. "
                "Is it the right column? For numbers to predict, choose regression."
            )
        codes = np.concatenate(self._codes) if self._codes else np.empty(0, dtype=np.int64)
        usable = codes >= 0
        if not usable.any():
            raise DatasetError(f"The target column {self.column!r} is empty in every row.")
        names = list(self._ids)
        order = sorted(range(len(names)), key=lambda i: _class_sort_key(names[i], self._numeric))
        remap = np.empty(len(names) + 1, dtype=np.int64)
        remap[np.array(order, dtype=np.int64)] = np.arange(len(order))
        remap[-1] = -1
        y = remap[codes]
        names = [names[i] for i in order]
        counts = np.bincount(y[usable], minlength=len(names)).tolist()
        present = [(n, c) for n, c in zip(names, counts, strict=True) if c > 0]
        if len(present) < 2:
            raise DatasetError(
                f"The target column {self.column!r} has only one class ({present[0][0]!r}). "
                "Classification needs at least two classes; check that this is the right column."
            )
        for name, count in present:
            if count < self.limits.min_per_class:
                raise DatasetError(
                    f"The class {name!r} has only {count} row{'s' if count != 1 else ''}; each class needs at least "
                    f"{self.limits.min_per_class} (and many more for a useful model). Add rows or remove that class."
                )
        return Target("classification", y, usable, names, counts)


def _class_sort_key(name: str, numeric: bool) -> tuple[float, str]:
    if numeric:
        try:
            return float(name), name
        except ValueError:
            pass
    return 0.0, name


class _Numbers:
    """One batch's target as numbers: each distinct value cast once, the rows' values made only when
    asked for (a classification never asks)."""

    def __init__(self, distinct: np.ndarray, indices: pa.Array | None = None) -> None:
        self.distinct = distinct
        self.indices = indices

    def __len__(self) -> int:
        return len(self.distinct) if self.indices is None else len(self.indices)

    def values(self) -> np.ndarray:
        """float64 per row, NaN where missing."""
        if self.indices is None:
            return self.distinct
        slots = np.append(self.distinct, np.nan)  # the slot of a missing value
        return slots[self.indices.fill_null(len(self.distinct)).to_numpy(zero_copy_only=False)]
