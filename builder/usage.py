"""How many bytes of the data root each user's rows hold, and the per-user storage quota.

Use is measured in the file store (the upload, the materialised arrays, every job folder with its
checkpoint, logs and artifacts), so it is what a delete gives back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from builder.datasets.limits import human_bytes
from webapp import filestore

MiB = 1024**2


def folder_bytes(path: Path) -> int:
    """The sizes of every file under path added up (0 when it does not exist)."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:  # removed while we counted
                continue
    return total


@dataclass(frozen=True)
class Usage:
    datasets_bytes: int
    jobs_bytes: int
    quota_bytes: int | None

    @property
    def used_bytes(self) -> int:
        return self.datasets_bytes + self.jobs_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "used_bytes": self.used_bytes,
            "quota_bytes": self.quota_bytes,
            "datasets_bytes": self.datasets_bytes,
            "jobs_bytes": self.jobs_bytes,
        }


def quota_bytes() -> int | None:
    """LAYERLOOM_USER_STORAGE_QUOTA_MB in bytes; None when 0 (no quota)."""
    megabytes = int(getattr(settings, "LAYERLOOM_USER_STORAGE_QUOTA_MB", 0) or 0)
    return megabytes * MiB if megabytes > 0 else None


def stored_bytes(folder: Path) -> int:
    """What the file store holds under a row's folder (the folder on disk with local files)."""
    return folder_bytes(folder) if filestore.is_local() else filestore.prefix_bytes(filestore.key_of(folder))


def storage_usage(owner: Any) -> Usage:
    # The reverse relations keep builder free of an import of the workers app.
    datasets = sum(stored_bytes(d.data_dir) for d in owner.datasets.only("storage_key"))
    jobs = sum(stored_bytes(j.job_dir) for j in owner.training_jobs.only("storage_key"))
    return Usage(datasets, jobs, quota_bytes())


def quota_room(owner: Any) -> int | None:
    """Bytes the owner may still store; None when there is no quota."""
    usage = storage_usage(owner)
    return None if usage.quota_bytes is None else max(usage.quota_bytes - usage.used_bytes, 0)


def over_quota_message(owner: Any, extra_bytes: int, what: str) -> str | None:
    """A message for a person when storing extra_bytes more would pass the quota, else None."""
    usage = storage_usage(owner)
    if usage.quota_bytes is None or usage.used_bytes + extra_bytes <= usage.quota_bytes:
        return None
    return (
        f"{what} needs {human_bytes(extra_bytes)}, but you already use {human_bytes(usage.used_bytes)} of your "
        f"{human_bytes(usage.quota_bytes)} storage quota. Delete datasets or jobs you no longer need, "
        "or ask an administrator for a larger quota."
    )
