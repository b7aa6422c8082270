"""Datasets get a storage_key (a UUID) that names their folder instead of the integer id.

Existing rows each get a distinct key and their folder is renamed from datasets/<id>/ to
datasets/<key>/ (and `source` rewritten), so files made before the change stay reachable
and nothing is left under an id-named folder that a future row could collide with.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import migrations, models


def _move(old: Path, new: Path) -> None:
    if old.exists() and not new.exists():
        new.parent.mkdir(parents=True, exist_ok=True)
        old.rename(new)


def key_datasets(apps: Any, schema_editor: Any) -> None:
    Dataset = apps.get_model("builder", "Dataset")
    root = Path(settings.LAYERLOOM_DATA_ROOT) / "datasets"
    for row in Dataset.objects.all().only("pk", "source"):
        row.storage_key = uuid.uuid4()
        _move(root / str(row.pk), root / str(row.storage_key))
        old_prefix = f"datasets/{row.pk}/"
        if row.source.startswith(old_prefix):
            row.source = f"datasets/{row.storage_key}/" + row.source[len(old_prefix):]
        row.save(update_fields=["storage_key", "source"])


def unkey_datasets(apps: Any, schema_editor: Any) -> None:
    Dataset = apps.get_model("builder", "Dataset")
    root = Path(settings.LAYERLOOM_DATA_ROOT) / "datasets"
    for row in Dataset.objects.all().only("pk", "source", "storage_key"):
        _move(root / str(row.storage_key), root / str(row.pk))
        new_prefix = f"datasets/{row.storage_key}/"
        if row.source.startswith(new_prefix):
            row.source = f"datasets/{row.pk}/" + row.source[len(new_prefix):]
            row.save(update_fields=["source"])


class Migration(migrations.Migration):
    dependencies = [("builder", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="dataset", name="storage_key", field=models.UUIDField(editable=False, null=True)
        ),
        migrations.RunPython(key_datasets, unkey_datasets),
        migrations.AlterField(
            model_name="dataset",
            name="storage_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
