"""A deleted job's folder (checkpoint, logs, artifacts) goes with its row, however it was deleted."""

from __future__ import annotations

from typing import Any

from builder.file_cleanup import remove_folder_after_commit


def remove_job_folder(sender: Any, instance: Any, **kwargs: Any) -> None:
    remove_folder_after_commit(instance.job_dir)
