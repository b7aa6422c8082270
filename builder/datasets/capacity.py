"""Room for a dataset version's arrays, checked from their exact size before a byte is written.

The arrays' size is known once the shape is: rows x (values per sample x itemsize + the
label + the row id). Ingestion refuses, with the figures, a version that would pass the
configured size, the owner's remaining storage quota, or the free disk.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits, human_bytes

ID_BYTES = np.dtype(np.int64).itemsize


def arrays_bytes(rows: int, x_shape: tuple[int, ...], x_dtype: Any, y_dtype: Any) -> int:
    """The bytes of X, y and ids over all splits (the .npy headers are a few hundred bytes more)."""
    per_row = math.prod(x_shape) * np.dtype(x_dtype).itemsize + np.dtype(y_dtype).itemsize + ID_BYTES
    return rows * per_row


def check_room(estimate: int, folder: Path, limits: Limits, cap: int | None = None, hint: str = "") -> None:
    """Raise DatasetError when the arrays would not fit; cap narrows limits.max_array_bytes."""
    allowed = limits.max_array_bytes if cap is None else min(cap, limits.max_array_bytes)
    if estimate > allowed:
        raise DatasetError(
            f"The dataset's arrays would take {human_bytes(estimate)}, more than the {human_bytes(allowed)} "
            f"allowed for this upload. {hint}".strip()
        )
    room = limits.storage_room_bytes
    if room is not None and estimate > room:
        raise DatasetError(
            f"The dataset's arrays would take {human_bytes(estimate)}, but only {human_bytes(room)} of your "
            "storage quota is left. Delete datasets or jobs you no longer need, or ask an administrator for a "
            f"larger quota. {hint}".strip()
        )
    free = shutil.disk_usage(folder).free
    if estimate > free:
        raise DatasetError(
            f"The dataset's arrays would take {human_bytes(estimate)}, but the server has only "
            f"{human_bytes(free)} of free disk. Tell an administrator."
        )


def table_cap(source: Path, limits: Limits) -> int:
    """Tables may grow by one-hot encoding, but not without bound over the size of the CSV itself."""
    return max(limits.min_table_array_bytes, int(limits.max_table_expansion * source.stat().st_size))
