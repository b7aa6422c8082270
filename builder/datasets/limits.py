"""Caps that keep one upload from exhausting the machine; each can be set from Django settings."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 2 * GiB
    # Tables and text.
    max_columns: int = 2000
    max_classes: int = 1000
    min_per_class: int = 2
    max_categories: int = 1000  # categories kept per categorical column (the rarest are dropped)
    auto_categorical_max: int = 50  # a text column with more distinct values is ignored unless overridden
    max_distinct_values: int = 1_000_000  # per categorical column, over the whole file
    max_feature_width: int = 20_000  # input width after one-hot encoding
    # Materialised arrays (builder/datasets/capacity.py), estimated before writing.
    max_array_bytes: int = 4 * GiB
    max_table_expansion: float = 50.0  # a table's arrays over its CSV's size ...
    min_table_array_bytes: int = 64 * MiB  # ... once past this
    storage_room_bytes: int | None = None  # what the owner's quota has left; set per ingestion
    csv_block_bytes: int = 8 * MiB
    # Parsed table rows one ingestion keeps in memory until its last pass; the rest wait in a file.
    # A 285 MB table of 20 numeric columns fits in the default; a 1 GiB one needs about 1 GiB
    # (8 bytes a number, 4 a category).
    table_memory_bytes: int = 256 * MiB
    # Zip archives, enforced on the bytes actually decompressed (headers can lie).
    max_zip_entries: int = 100_000
    max_zip_total_bytes: int = 8 * GiB
    max_zip_member_bytes: int = 64 * MiB
    max_zip_ratio: float = 200.0
    zip_ratio_floor_bytes: int = 1 * MiB  # small members may compress well without being a bomb
    # Images.
    max_image_pixels: int = 40_000_000
    max_bad_image_fraction: float = 0.1
    thumbs_per_class: int = 4
    thumb_side: int = 96

    @classmethod
    def from_settings(cls) -> Limits:
        """Defaults, overridden by LAYERLOOM_MAX_UPLOAD_BYTES, LAYERLOOM_MAX_DATASET_ARRAYS_MB,
        LAYERLOOM_INGEST_MEMORY_MB and the LAYERLOOM_DATASET_LIMITS dict."""
        from django.conf import settings

        overrides: dict[str, Any] = dict(getattr(settings, "LAYERLOOM_DATASET_LIMITS", {}) or {})
        overrides.setdefault("max_upload_bytes", getattr(settings, "LAYERLOOM_MAX_UPLOAD_BYTES", 2 * GiB))
        overrides.setdefault("max_array_bytes", getattr(settings, "LAYERLOOM_MAX_DATASET_ARRAYS_MB", 4096) * MiB)
        overrides.setdefault("table_memory_bytes", getattr(settings, "LAYERLOOM_INGEST_MEMORY_MB", 256) * MiB)
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in overrides.items() if k in known})


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"
