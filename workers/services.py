"""What each action on a training job means: submit, cancel, retry, requeue.

The status changes themselves are workers.lifecycle's (the job state machine).

The API, the admin and the `train` management command call these and nothing else, so
the rules (checks, quota, state changes, enqueueing after commit) live in one place.
Ownership is the caller's concern: these functions trust the objects they are given.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from pydantic import ValidationError

from builder.codegen import frameworks
from builder.models import Architecture, Dataset
from workers import lifecycle, placement
from workers.admission import memory_errors, quota_errors
from workers.compat import compatibility_errors
from workers.hyperparameters import Hyperparameters, field_errors, parse_hyperparameters, task_errors
from workers.lifecycle import JobStateError
from workers.models import TrainingJob


class JobRejected(Exception):
    """Bad input for a job, as {field: [message, ...]} (the API returns it as a 400)."""

    def __init__(self, field_errors: dict[str, list[str]]) -> None:
        self.field_errors = field_errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in field_errors.items()))


def submit_job(
    owner: Any,
    *,
    architecture: Architecture | None = None,
    spec: dict[str, Any] | None = None,
    dataset: Dataset,
    framework: str,
    hyperparameters: dict[str, Any] | None = None,
) -> TrainingJob:
    """Check everything, create the queued job and enqueue it once the row is committed."""
    frozen, hp = check_job(architecture=architecture, spec=spec, dataset=dataset, framework=framework,
                           hyperparameters=hyperparameters)  # fmt: skip
    return _create_queued(
        owner,
        architecture=architecture,
        spec=frozen,
        dataset=dataset,
        dataset_version=dataset.version,
        framework=framework,
        hyperparameters=hp.model_dump(),
    )


def check_job(
    *,
    architecture: Architecture | None,
    spec: dict[str, Any] | None,
    dataset: Dataset,
    framework: str,
    hyperparameters: dict[str, Any] | None,
) -> tuple[dict[str, Any], Hyperparameters]:
    """Every check a job's inputs get (submission and the dry-run estimate share it): the frozen
    spec and the parsed hyperparameters, or JobRejected naming each field at fault."""
    errors: dict[str, list[str]] = {}
    if (architecture is None) == (spec is None):
        errors["architecture"] = ["Give either an architecture or a spec (exactly one)."]
    frozen = dict(architecture.spec) if architecture is not None else spec
    if framework not in frameworks.NAMES:
        errors["framework"] = [f"Choose one of {', '.join(frameworks.NAMES)}."]
    try:
        hp: Hyperparameters | None = parse_hyperparameters(hyperparameters)
    except ValidationError as exc:
        errors.update(field_errors(exc))
        hp = None
    if frozen is not None:
        for key, messages in compatibility_errors(frozen, dataset).items():
            errors.setdefault(key, []).extend(messages)
    if hp is not None and dataset.task:
        for key, messages in task_errors(hp, dataset.task).items():
            errors.setdefault(key, []).extend(messages)
    if hp is not None and frozen is not None and not errors:
        errors.update(memory_errors(frozen, hp.batch_size, dataset))
    if errors:
        raise JobRejected(errors)
    assert hp is not None and frozen is not None
    return frozen, hp


def _create_queued(owner: Any, **fields: Any) -> TrainingJob:
    limit = settings.LAYERLOOM_MAX_ACTIVE_JOBS
    with transaction.atomic():
        # Lock the owner's row so concurrent submissions count active jobs one at a time.
        get_user_model().objects.select_for_update().get(pk=owner.pk)
        active = TrainingJob.objects.filter(owner=owner, status__in=TrainingJob.ACTIVE).count()
        if active >= limit:
            raise JobRejected(
                {"quota": [f"You already have {active} queued or running jobs (the limit is {limit}); "
                           "wait for one to finish or cancel one."]}
            )  # fmt: skip
        if errors := quota_errors(owner, fields["spec"]):
            raise JobRejected(errors)
        queue = placement.queue_for(fields["hyperparameters"].get("device", "auto"))  # cpu, gpu, or either
        job = TrainingJob.objects.create(owner=owner, queue=queue, **fields)
        # Sent now if it is the owner's turn; otherwise it waits here for one of theirs to end.
        transaction.on_commit(lambda: lifecycle.dispatch(owner.pk))
    return job


def cancel_job(job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once and never starts; a running one is asked to stop.

    The worker checks the flag every batch and stops within about a second, keeping the
    metrics of the epochs it finished.
    """
    return lifecycle.cancel(job)


def retry_job(job: TrainingJob) -> TrainingJob:
    """A failed or cancelled job is retried as a new queued job (retry_of points back).

    A new row keeps the history honest: the old job's error, metrics and attempts stay
    as they were. The retry uses the same frozen spec, dataset version and hyperparameters,
    gets every check a submission gets under today's limits (a memory limit lowered since
    the job failed refuses it here, not by killing it later), and counts against the quota.
    """
    if job.status not in (TrainingJob.Status.FAILED, TrainingJob.Status.CANCELLED):
        raise JobStateError(f"Only a failed or cancelled job can be retried; job {job.pk} is {job.status}.")
    if job.dataset.version != job.dataset_version:
        raise JobRejected({"dataset": ["The dataset was re-ingested since this job; submit a new job instead."]})
    check_job(architecture=None, spec=job.spec, dataset=job.dataset, framework=job.framework,
              hyperparameters=job.hyperparameters)  # fmt: skip
    return _create_queued(
        job.owner,
        architecture=job.architecture,
        spec=job.spec,
        dataset=job.dataset,
        dataset_version=job.dataset_version,
        framework=job.framework,
        hyperparameters=job.hyperparameters,
        retry_of=job,
    )


def requeue_job(job: TrainingJob, *, force: bool = False) -> TrainingJob:
    """Put a stuck job back in the queue (an operator action from the admin).

    Its message goes at once, outside its owner's turn: the job had its turn already.

    It resumes from its last epoch checkpoint. A running job whose heartbeat is fresh is
    refused unless force=True; even then the old run cannot write any more, because every
    write a run makes is conditioned on its own run token.
    """
    return lifecycle.requeue(job, force=force)
