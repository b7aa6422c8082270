"""Running one ingestion for a Dataset row: claim it atomically, build, record the outcome.

A message delivered twice (Redis redelivers unacknowledged tasks) finds the row taken or
done and returns at once. A row left "processing" by a worker that died is taken again
once it has not been touched for LAYERLOOM_INGEST_STALE_SECONDS.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.storage import publish_version, remove_dataset_files, stored_source
from builder.usage import quota_room

log = logging.getLogger(__name__)

INTERNAL_ERROR = (
    "Ingestion stopped because of an internal error (logged for the administrators). "
    "Upload the file again; if it fails again, tell an administrator."
)


def _stale_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "LAYERLOOM_INGEST_STALE_SECONDS", 2 * 3600)))


def claim(dataset_id: int) -> bool:
    """pending -> processing (or a stale processing taken over), as one conditional UPDATE."""
    from builder.models import Dataset

    now = timezone.now()
    takeable = Q(status=Dataset.Status.PENDING) | Q(status=Dataset.Status.PROCESSING, updated__lt=now - _stale_after())
    return bool(
        Dataset.objects.filter(takeable, pk=dataset_id).update(status=Dataset.Status.PROCESSING, error="", updated=now)
    )


def run_ingest(dataset_id: int) -> str:
    """Ingest the dataset; returns what happened: "ready", "failed" or "skipped"."""
    from builder.models import Dataset

    if not claim(dataset_id):
        return "skipped"
    dataset = Dataset.objects.get(pk=dataset_id)
    try:
        limits = replace(Limits.from_settings(), storage_room_bytes=quota_room(dataset.owner))
        source = stored_source(dataset)
        if source is None:
            return _fail(dataset, "The uploaded file is no longer stored. Upload it again.")
        result = materialise(dataset.kind, source, dataset.options, dataset.version_dir, limits)
        publish_version(dataset)
    except DatasetError as exc:
        return _fail(dataset, str(exc))
    except Exception:
        log.exception("ingestion of dataset %s failed", dataset_id)
        return _fail(dataset, INTERNAL_ERROR)
    updated = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.PROCESSING).update(
        status=Dataset.Status.READY,
        error="",
        profile=result.profile,
        task=result.task,
        input_shape=result.input_shape,
        num_classes=result.num_classes,
        class_names=result.class_names,
        updated=timezone.now(),
    )
    if not updated:  # deleted (or reset) while we worked: leave nothing behind
        if not Dataset.objects.filter(pk=dataset_id).exists():
            remove_dataset_files(dataset)
        return "skipped"
    return "ready"


def _fail(dataset: object, message: str) -> str:
    """Record the reason and remove every file of the dataset: only the row and its message stay."""
    from builder.models import Dataset

    assert isinstance(dataset, Dataset)
    remove_dataset_files(dataset)
    Dataset.objects.filter(pk=dataset.pk).update(
        status=Dataset.Status.FAILED, error=message, source="", updated=timezone.now()
    )
    return "failed"
