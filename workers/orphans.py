"""Stored files and folders that no row owns: left by a crash, a restored database, or a
delete whose file removal did not finish.

Only what Layerloom itself writes is judged: `datasets/<key>/`, `jobs/<key>/`, the version
folders inside a dataset's folder, and uploads in `incoming/`. Anything younger than the
grace period is left alone, so an upload or ingestion in progress is never taken for one.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from builder.models import Dataset
from builder.usage import folder_bytes
from workers.models import TrainingJob


@dataclass(frozen=True)
class Orphan:
    path: Path
    size_bytes: int
    why: str


def _old_enough(path: Path, cutoff: float) -> bool:
    """Nothing in it (the folder itself, any file or folder under it) changed since cutoff."""
    try:
        if path.lstat().st_mtime >= cutoff:
            return False
        if path.is_dir() and not path.is_symlink():
            return all(p.lstat().st_mtime < cutoff for p in path.rglob("*"))
    except FileNotFoundError:
        return False
    return True


def _size(path: Path) -> int:
    return folder_bytes(path) if path.is_dir() else path.lstat().st_size


def find_orphans(grace_seconds: float = 3600) -> Iterator[Orphan]:
    root = Path(settings.LAYERLOOM_DATA_ROOT)
    cutoff = time.time() - grace_seconds
    datasets = {str(key): version for key, version in Dataset.objects.values_list("storage_key", "version")}
    used_versions: dict[str, set[int]] = {}
    for key, version in TrainingJob.objects.values_list("dataset__storage_key", "dataset_version"):
        used_versions.setdefault(str(key), set()).add(version)
    jobs = {str(key) for key in TrainingJob.objects.values_list("storage_key", flat=True)}

    for entry in sorted((root / "datasets").glob("*")):
        if not _old_enough(entry, cutoff):
            continue
        if entry.name not in datasets:
            yield Orphan(entry, _size(entry), "no dataset has this storage key")
            continue
        keep = {f"v{datasets[entry.name]}", "source"} | {f"v{v}" for v in used_versions.get(entry.name, ())}
        for inner in sorted(entry.iterdir()):
            if inner.name not in keep and _old_enough(inner, cutoff):
                yield Orphan(inner, _size(inner), "neither the dataset's current version nor one a job uses")
    for entry in sorted((root / "jobs").glob("*")):
        if entry.name not in jobs and _old_enough(entry, cutoff):
            yield Orphan(entry, _size(entry), "no job has this storage key")
    for entry in sorted((root / "incoming").glob("upload-*")):
        if _old_enough(entry, cutoff):
            yield Orphan(entry, _size(entry), "an upload no request finished")


def remove(orphan: Orphan) -> None:
    if orphan.path.is_dir() and not orphan.path.is_symlink():
        shutil.rmtree(orphan.path, ignore_errors=True)
    else:
        orphan.path.unlink(missing_ok=True)
