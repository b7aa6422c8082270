"""Deleting jobs, datasets and architectures: the rules (what may go, what goes with it).

The API and the admin call these, so a delete means one thing wherever it is asked for.
Rows go in one transaction; each row's folder is removed once it commits, by the
post_delete handlers in builder/file_cleanup.py and workers/file_cleanup.py. Ownership is
the caller's concern, as in workers.services.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import ProtectedError

from builder.models import Architecture, Dataset
from workers.models import TrainingJob
from workers.services import JobStateError

log = logging.getLogger(__name__)


class DatasetInUse(JobStateError):
    """The dataset has jobs and the caller did not ask to delete them too (the API answers 409)."""

    def __init__(self, dataset: Dataset, job_ids: list[int]) -> None:
        self.job_ids = job_ids
        listing = ", ".join(str(i) for i in job_ids[:20]) + (" ..." if len(job_ids) > 20 else "")
        super().__init__(
            f"Dataset {dataset.pk} is used by {len(job_ids)} job(s) ({listing}); delete those jobs first, "
            "or delete the dataset together with its jobs (with_jobs=true)."
        )


class JobServes(JobStateError):
    """A job serves under a name (the API answers 409 naming it)."""

    def __init__(self, serving: dict[int, list[str]]) -> None:
        self.serving = serving
        listing = "; ".join(f"job {pk} under {', '.join(repr(n) for n in names)}" for pk, names in serving.items())
        super().__init__(
            f"A job to delete serves predictions by name ({listing}). Re-point each name to another job "
            '(POST /api/models/ with {"name": ..., "job": ...}) or remove the name (DELETE /api/models/NAME/) first.'
        )


def _refuse_serving(jobs: list[TrainingJob]) -> None:
    # Through the reverse relation: the serving app sits above workers and is not imported here.
    serving: dict[int, list[str]] = {}
    for job in jobs:
        names = sorted(job.endpoints.values_list("name", flat=True))
        if names:
            serving[job.pk] = names
    if serving:
        raise JobServes(serving)


def _refuse_active(jobs: list[TrainingJob]) -> None:
    active = [job for job in jobs if job.status in TrainingJob.ACTIVE]
    if active:
        names = ", ".join(f"{job.pk} ({job.status})" for job in active)
        raise JobStateError(f"Job(s) {names} are queued or running; cancel them and wait for them to stop first.")


def delete_job(job: TrainingJob) -> None:
    """Delete a finished job with its metrics, artifacts, checkpoint and logs; refused while active
    or while it serves under a name (a name it served under earlier keeps its record)."""
    with transaction.atomic():
        locked = list(TrainingJob.objects.select_for_update().filter(pk=job.pk))
        _refuse_active(locked)
        _refuse_serving(locked)
        for row in locked:
            row.delete()


def delete_dataset(dataset: Dataset, *, with_jobs: bool = False) -> list[int]:
    """Delete a dataset and its files; returns the ids of the jobs deleted with it.

    A dataset that jobs use is refused (DatasetInUse, naming them) unless with_jobs is
    set; then its jobs go too, provided none is queued or running.
    """
    with transaction.atomic():
        # Locking the dataset's row first makes a submission for it wait (its insert takes a
        # key-share lock on the row), so the jobs read next are all the jobs there are.
        list(Dataset.objects.select_for_update().filter(pk=dataset.pk))
        jobs = list(TrainingJob.objects.select_for_update().filter(dataset_id=dataset.pk).order_by("pk"))
        if jobs and not with_jobs:
            raise DatasetInUse(dataset, [job.pk for job in jobs])
        _refuse_active(jobs)
        _refuse_serving(jobs)
        job_ids = [job.pk for job in jobs]
        TrainingJob.objects.filter(pk__in=job_ids).delete()
        try:
            deleted = Dataset.objects.filter(pk=dataset.pk).delete()[0]
        except ProtectedError:  # a job arrived all the same (SQLite has no row locks)
            raise DatasetInUse(dataset, list(dataset.training_jobs.values_list("pk", flat=True))) from None
    if not deleted:
        log.info("dataset %s was already deleted", dataset.pk)
    return job_ids


def delete_architecture(architecture: Architecture) -> None:
    """Architectures own no files; their jobs keep their frozen spec and stay."""
    architecture.delete()
