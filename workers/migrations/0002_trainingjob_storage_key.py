"""Jobs get a storage_key (a UUID) that names their folder instead of the integer id.

Existing rows each get a distinct key and their folder is renamed from jobs/<id>/ to
jobs/<key>/ (and their artifacts' paths rewritten), so files made before the change stay
reachable and no id-named folder is left for a future job with the same id to resume.
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


def _rewrite_artifacts(apps: Any, job_id: int, old_prefix: str, new_prefix: str) -> None:
    Artifact = apps.get_model("workers", "Artifact")
    for artifact in Artifact.objects.filter(job_id=job_id, path__startswith=old_prefix).only("pk", "path"):
        artifact.path = new_prefix + artifact.path[len(old_prefix):]
        artifact.save(update_fields=["path"])


def key_jobs(apps: Any, schema_editor: Any) -> None:
    TrainingJob = apps.get_model("workers", "TrainingJob")
    root = Path(settings.LAYERLOOM_DATA_ROOT) / "jobs"
    for job in TrainingJob.objects.all().only("pk"):
        job.storage_key = uuid.uuid4()
        job.save(update_fields=["storage_key"])
        _move(root / str(job.pk), root / str(job.storage_key))
        _rewrite_artifacts(apps, job.pk, f"jobs/{job.pk}/", f"jobs/{job.storage_key}/")


def unkey_jobs(apps: Any, schema_editor: Any) -> None:
    TrainingJob = apps.get_model("workers", "TrainingJob")
    root = Path(settings.LAYERLOOM_DATA_ROOT) / "jobs"
    for job in TrainingJob.objects.all().only("pk", "storage_key"):
        _move(root / str(job.storage_key), root / str(job.pk))
        _rewrite_artifacts(apps, job.pk, f"jobs/{job.storage_key}/", f"jobs/{job.pk}/")


class Migration(migrations.Migration):
    dependencies = [("workers", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="trainingjob", name="storage_key", field=models.UUIDField(editable=False, null=True)
        ),
        migrations.RunPython(key_jobs, unkey_jobs),
        migrations.AlterField(
            model_name="trainingjob",
            name="storage_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
