"""What an ingestion produces, besides the files it writes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class IngestResult:
    task: str  # "classification" | "regression"
    input_shape: list[int]
    class_names: list[str]
    profile: dict[str, Any]
    preprocessing: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        return len(self.class_names) if self.task == "classification" else None


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
