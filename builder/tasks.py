"""Celery tasks for datasets. Thin: an id in, the row re-read, the work in builder.datasets.

Ingestion runs on the "default" queue (sent there explicitly by builder.datasets.upload).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="builder.ingest_dataset", acks_late=True, ignore_result=True)
def ingest_dataset(dataset_id: int) -> str:
    """Validate, profile and materialise one uploaded dataset; a repeated message is a no-op."""
    from builder.datasets.ingest import run_ingest

    return run_ingest(dataset_id)
