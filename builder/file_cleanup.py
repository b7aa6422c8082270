"""A deleted row's folder goes with it, however the row was deleted (service, admin, cascade, shell).

The folder is removed once the delete commits, so a rolled-back delete never loses files.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.db import transaction


def remove_folder_after_commit(folder: Path) -> None:
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


def remove_dataset_folder(sender: Any, instance: Any, **kwargs: Any) -> None:
    remove_folder_after_commit(instance.data_dir)
