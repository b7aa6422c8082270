"""Ingest one stored upload into a dataset version folder, all or nothing (no Django here)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from builder.datasets.images import ingest_images
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult
from builder.datasets.tabular import ingest_tabular
from builder.datasets.text import ingest_text

INGESTERS: dict[str, Callable[[Path, dict[str, Any], Path, Limits], IngestResult]] = {
    "tabular": ingest_tabular,
    "images": ingest_images,
    "text": ingest_text,
}


def materialise(kind: str, source: Path, options: dict[str, Any], version_dir: Path, limits: Limits) -> IngestResult:
    """Build into a private folder and rename it into place, so version_dir is complete or absent."""
    build = version_dir.with_name(f".{version_dir.name}.build-{uuid.uuid4().hex[:8]}")
    build.mkdir(parents=True)
    try:
        result = INGESTERS[kind](source, options, build, limits)
        if version_dir.exists():  # left by a run that died after its rename; ours is as good
            shutil.rmtree(version_dir)
        os.replace(build, version_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return result
