"""Publishing a job under a name, and re-pointing the name, each in one transaction."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from serving.models import EndpointHistory, ModelEndpoint
from serving.sessions import NotServable, onnx_identity
from workers.models import TrainingJob


class TooManyNames(Exception):
    """A new name would pass LAYERLOOM_MAX_ENDPOINTS (the API answers 400 on "name")."""


def publish(owner: Any, name: str, job: TrainingJob) -> tuple[ModelEndpoint, bool]:
    """Point ``name`` at ``job`` (created if new). Returns (endpoint, created).

    The endpoint row is locked (SELECT ... FOR UPDATE) while the name moves, so two
    re-points at once cannot both close the same history row: callers always see exactly
    one job serving, and the history has no gap and no overlap.
    """
    onnx_identity(job)  # raises NotServable: only a job with a model can serve
    if job.owner_id != owner.pk:
        raise NotServable(f"No job with id {job.pk} among yours.")
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _publish(owner, name, job)
        except IntegrityError:
            continue  # another request created the name first: now it exists, re-point it
    raise NotServable(f"The name {name!r} is being changed by another request; try again.")


def _publish(owner: Any, name: str, job: TrainingJob) -> tuple[ModelEndpoint, bool]:
    endpoint = ModelEndpoint.objects.select_for_update().filter(owner=owner, name=name).first()
    now = timezone.now()  # read once the lock is held, so the history's times follow its order
    if endpoint is None:
        _refuse_past_the_limit(owner)
        endpoint = ModelEndpoint.objects.create(owner=owner, name=name, job=job)
        EndpointHistory.objects.create(endpoint=endpoint, job=job, since=now)
        return endpoint, True
    if endpoint.job_id != job.pk:
        EndpointHistory.objects.filter(endpoint=endpoint, until__isnull=True).update(until=now)
        EndpointHistory.objects.create(endpoint=endpoint, job=job, since=now)
        endpoint.job = job
        endpoint.save(update_fields=["job", "updated"])
    return endpoint, False


def _refuse_past_the_limit(owner: Any) -> None:
    # The owner's row is locked so that two new names at once are counted one after the other.
    get_user_model().objects.select_for_update().get(pk=owner.pk)
    count, limit = ModelEndpoint.objects.filter(owner=owner).count(), settings.LAYERLOOM_MAX_ENDPOINTS
    if count >= limit:
        raise TooManyNames(
            f"You already have {count} named model endpoints (the limit is {limit}); re-point one of them "
            "to this job, or remove one you no longer use (DELETE /api/models/NAME/)."
        )


def unpublish(endpoint: ModelEndpoint) -> None:
    """Remove the name (its history goes with it); the jobs and their files stay."""
    endpoint.delete()
