"""Ingest one stored upload into a dataset version folder, all or nothing (no Django here)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from builder.datasets.kinds import get_kind
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult


def materialise(kind: str, source: Path, options: dict[str, Any], version_dir: Path, limits: Limits) -> IngestResult:
    """Build into a private folder and rename it into place, so version_dir is complete or absent."""
    kind_of_data = get_kind(kind)
    build = version_dir.with_name(f".{version_dir.name}.build-{uuid.uuid4().hex[:8]}")
    build.mkdir(parents=True)
    try:
        result = kind_of_data.ingest(source, options, build, limits)
        if version_dir.exists():  # left by a run that died after its rename; ours is as good
            shutil.rmtree(version_dir)
        os.replace(build, version_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return result
