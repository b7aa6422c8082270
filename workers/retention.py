"""What stays on disk after a job finishes."""

from __future__ import annotations

from django.conf import settings

from webapp import filestore
from workers.models import TrainingJob


def remove_finished_checkpoint(job_id: int) -> None:
    """A succeeded job's checkpoint only takes space (nothing resumes it) unless LAYERLOOM_KEEP_CHECKPOINTS."""
    if settings.LAYERLOOM_KEEP_CHECKPOINTS:
        return
    job = TrainingJob.objects.filter(pk=job_id, status=TrainingJob.Status.SUCCEEDED).only("storage_key").first()
    if job is not None:
        filestore.delete_prefix(filestore.key_of(job.checkpoint_dir))
