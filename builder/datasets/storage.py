"""Where dataset files live under LAYERLOOM_DATA_ROOT, and removing them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings


def data_root() -> Path:
    return Path(settings.LAYERLOOM_DATA_ROOT)


def incoming_dir() -> Path:
    """Uploads being received; on the data root's filesystem so that storing one is a rename."""
    folder = data_root() / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_dataset_files(dataset: Any) -> None:
    if dataset.pk is not None:
        shutil.rmtree(dataset.data_dir, ignore_errors=True)
