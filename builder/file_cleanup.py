"""A deleted row's folder goes with it, however the row was deleted (service, admin, cascade, shell):
this host's folder and every object under its key in the file store.

The folder is removed once the delete commits, so a rolled-back delete never loses files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from webapp import filestore


def remove_folder_after_commit(folder: Path) -> None:
    key = filestore.key_of(folder)
    transaction.on_commit(lambda: filestore.delete_prefix(key))


def remove_dataset_folder(sender: Any, instance: Any, **kwargs: Any) -> None:
    remove_folder_after_commit(instance.data_dir)
