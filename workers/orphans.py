"""Stored files and folders that no row owns: left by a crash, a restored database, or a
delete whose file removal did not finish.

Only what Layerloom itself writes is judged: `datasets/<key>/`, `jobs/<key>/`, the version
folders inside a dataset's folder, and uploads in `incoming/`. Anything younger than the
grace period is left alone, so an upload or ingestion in progress is never taken for one.

On local files the data root is judged; on a remote store its objects are (grouped by the same
folders), and this host's `incoming/` beside them.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from builder.models import Dataset
from builder.usage import folder_bytes
from webapp import filestore
from workers.models import TrainingJob


@dataclass(frozen=True)
class Orphan:
    path: Path | str  # a path on local files; a key prefix ("jobs/<key>") in a remote store
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


def _owned() -> tuple[dict[str, int], dict[str, set[int]], set[str]]:
    """Dataset keys with their current version, the versions jobs use, and the job keys."""
    datasets = {str(key): version for key, version in Dataset.objects.values_list("storage_key", "version")}
    used_versions: dict[str, set[int]] = {}
    for key, version in TrainingJob.objects.values_list("dataset__storage_key", "dataset_version"):
        used_versions.setdefault(str(key), set()).add(version)
    jobs = {str(key) for key in TrainingJob.objects.values_list("storage_key", flat=True)}
    return datasets, used_versions, jobs


def find_orphans(grace_seconds: float = 3600) -> Iterator[Orphan]:
    if not filestore.is_local():
        yield from _stored_orphans(grace_seconds)
        return
    root = Path(settings.LAYERLOOM_DATA_ROOT)
    cutoff = time.time() - grace_seconds
    datasets, used_versions, jobs = _owned()

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
    yield from _incoming(root, cutoff)


def _incoming(root: Path, cutoff: float) -> Iterator[Orphan]:
    for entry in sorted((root / "incoming").glob("upload-*")):
        if _old_enough(entry, cutoff):
            yield Orphan(entry, _size(entry), "an upload no request finished")


def _stored_orphans(grace_seconds: float) -> Iterator[Orphan]:
    """The same judgement over the store's objects, grouped into the folders their keys name."""
    cutoff = datetime.fromtimestamp(time.time() - grace_seconds, tz=UTC)
    datasets, used_versions, jobs = _owned()

    def groups(top: str, depth: int) -> dict[str, list[filestore.Entry]]:
        found: dict[str, list[filestore.Entry]] = {}
        for entry in filestore.list_prefix(top):
            parts = entry.name.split("/")
            if len(parts) > depth:
                found.setdefault("/".join(parts[:depth]), []).append(entry)
        return found

    def old(entries: list[filestore.Entry]) -> bool:
        return all(e.modified is not None and e.modified < cutoff for e in entries)

    for name, entries in sorted(groups("datasets", 2).items()):
        key, inner = name.split("/")
        if key not in datasets:
            continue  # judged as a whole below
        keep = {f"v{datasets[key]}", "source"} | {f"v{v}" for v in used_versions.get(key, ())}
        if inner not in keep and old(entries):
            yield Orphan(f"datasets/{name}", sum(e.size for e in entries),
                         "neither the dataset's current version nor one a job uses")  # fmt: skip
    for top, owned, why in (("datasets", datasets, "no dataset has this storage key"),
                            ("jobs", jobs, "no job has this storage key")):  # fmt: skip
        for name, entries in sorted(groups(top, 1).items()):
            if name not in owned and old(entries):
                yield Orphan(f"{top}/{name}", sum(e.size for e in entries), why)
    yield from _incoming(Path(settings.LAYERLOOM_DATA_ROOT), time.time() - grace_seconds)


def remove(orphan: Orphan) -> None:
    if isinstance(orphan.path, str):
        filestore.delete_prefix(orphan.path)
        return
    if orphan.path.is_dir() and not orphan.path.is_symlink():
        shutil.rmtree(orphan.path, ignore_errors=True)
    else:
        orphan.path.unlink(missing_ok=True)
