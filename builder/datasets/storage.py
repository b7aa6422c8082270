"""Where dataset files live (keys under LAYERLOOM_DATA_ROOT, in the file store), and removing them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

from webapp import filestore


def data_root() -> Path:
    return Path(settings.LAYERLOOM_DATA_ROOT)


def incoming_dir() -> Path:
    """Uploads being received; on the data root's filesystem so that storing one is a rename."""
    folder = data_root() / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_source(dataset: Any) -> Path | None:
    """A local path of the dataset's stored upload (this host's copy when the store is remote);
    None when it has none, or the store has lost it."""
    if not dataset.source:
        return None
    try:
        return filestore.local_file(dataset.source)
    except FileNotFoundError:
        return None


def publish_version(dataset: Any) -> None:
    """Store the arrays this host just materialised (nothing to do on local files: they are
    stored where they were written); on a remote store the folder then moves into this host's
    dataset cache, so a trainer here reads it without a download."""
    if filestore.is_local():
        return
    filestore.push_dir(dataset.version_dir)
    from webapp import filecache

    filecache.adopt(filestore.key_of(dataset.version_dir), dataset.version_dir)


def publish_source(dataset: Any, path: Path) -> None:
    """Store the upload at path (streamed in parts); on a remote store this host keeps no copy."""
    if filestore.is_local():
        return
    filestore.push_file(path)
    path.unlink(missing_ok=True)


def remove_dataset_files(dataset: Any) -> None:
    """The dataset's folder here and its objects in the store."""
    if dataset.pk is not None:
        shutil.rmtree(dataset.data_dir, ignore_errors=True)
        filestore.delete_prefix(filestore.key_of(dataset.data_dir))
