"""Training jobs, their metrics and artifacts.

The job row is the single source of truth for a job's state: every transition that can
race (a worker taking a job, a redelivered message, a cancel) is one conditional UPDATE.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from builder.codegen import frameworks
from webapp import filestore


class TrainingJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # A sweep's trial stopped early by its pruner: its validation metric was behind the others'.
        PRUNED = "pruned", "Pruned (stopped early by its sweep)"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.PRUNED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_jobs")
    # The architecture may be edited or deleted later: the job keeps its own frozen spec.
    architecture = models.ForeignKey(
        "builder.Architecture", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    spec = models.JSONField(help_text="Frozen copy of the architecture spec taken at submission.")
    # PROTECT: a job's evaluation and artifacts are meaningless without the data they came from.
    dataset = models.ForeignKey("builder.Dataset", on_delete=models.PROTECT, related_name="training_jobs")
    dataset_version = models.PositiveIntegerField()
    framework = models.CharField(max_length=8, choices=frameworks.CHOICES)  # the one list, builder.codegen
    hyperparameters = models.JSONField(default=dict)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries",
        help_text="The failed or cancelled job this one retries.",
    )  # fmt: skip

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    queue = models.CharField(max_length=64, default="training")
    # When the job's message went to the broker. A queued job without it waits in the database
    # for its owner's turn (workers.lifecycle.dispatch): the fair share between users.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    # Progress, written by the worker (batch-level at most twice a second).
    epoch = models.PositiveIntegerField(default=0, help_text="Epochs completed.")
    total_epochs = models.PositiveIntegerField(default=0)
    batch = models.PositiveIntegerField(default=0, help_text="Batches done in the current epoch.")
    batches_per_epoch = models.PositiveIntegerField(default=0)
    percent = models.FloatField(default=0.0)
    eta_seconds = models.FloatField(null=True, blank=True)
    resumed_from_epoch = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set when a run resumed from a checkpoint after a crash."
    )

    worker_host = models.CharField(max_length=255, blank=True, help_text="Celery node name of the worker.")
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    device_name = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times a worker has started it.")
    # Set when a run takes the job; every write that run makes is filtered on it, so a run
    # that lost the job (requeued, taken over after a stale heartbeat) can change nothing.
    run_token = models.CharField(max_length=32, blank=True, editable=False)
    # The process that owns the run (workers.liveness.identity): a run is alive only while it is.
    run_owner = models.CharField(max_length=200, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Names the job's folder (checkpoint, artifacts, TensorBoard logs): never reused, unlike
    # the integer id, so a job can never see files another job left behind.
    storage_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the job failed, written for a person.")
    interruption = models.TextField(
        blank=True, help_text="What stopped an earlier attempt (a signal, a lost worker) before this one resumed."
    )
    evaluation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["owner", "status", "dispatched_at"]),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk}: {self.title} ({self.framework}, {self.status})"

    @property
    def title(self) -> str:
        """What the person called the model: the saved architecture's name (the frozen spec's
        name when the job came from an inline spec or its architecture was deleted)."""
        if self.architecture is not None:
            return self.architecture.name
        return self.spec_name

    @property
    def spec_name(self) -> str:
        """The name inside the frozen spec (often the preset's: "mlp")."""
        return str((self.spec or {}).get("name") or "model") if isinstance(self.spec, dict) else "model"

    @property
    def spec_detail(self) -> str:
        """The spec's name where it differs from the title, shown beside it as a detail."""
        return self.spec_name if self.spec_name != self.title else ""

    @property
    def is_active(self) -> bool:
        """Queued or running: the admin refuses to delete it and the job page offers cancel."""
        return self.status in self.ACTIVE

    @property
    def dataset_dir(self) -> Path:
        """The materialised arrays of the dataset version this job was submitted with: the stored
        folder on local files, this host's cached copy of it when the store is remote."""
        return self.dataset.stored_version_dir(self.dataset_version)

    @property
    def job_dir(self) -> Path:
        return Path(settings.LAYERLOOM_DATA_ROOT) / "jobs" / str(self.storage_key)

    @property
    def artifacts_dir(self) -> Path:
        return self.job_dir / "artifacts"

    @property
    def checkpoint_dir(self) -> Path:
        return self.job_dir / "checkpoint"

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class Metric(models.Model):
    """One epoch's metrics (train and validation), as the worker wrote them."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="metrics")
    epoch = models.PositiveIntegerField()
    step = models.PositiveIntegerField(default=0, help_text="Global batch count at the end of the epoch.")
    values: Any = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "epoch", "step", "id"]
        # An epoch re-run after a crash replaces its row instead of adding a second one.
        constraints = [models.UniqueConstraint(fields=["job", "epoch"], name="workers_metric_one_per_epoch")]

    def __str__(self) -> str:
        return f"Job {self.job_id} epoch {self.epoch}"


class Artifact(models.Model):
    """One downloadable file of a finished job, stored under LAYERLOOM_DATA_ROOT."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=32, help_text="keras, savedmodel, safetensors, torchscript, onnx, ...")
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500, help_text="Relative to LAYERLOOM_DATA_ROOT.")
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "kind", "filename"]
        constraints = [models.UniqueConstraint(fields=["job", "filename"], name="workers_artifact_unique_name")]

    def __str__(self) -> str:
        return self.filename

    @property
    def absolute_path(self) -> Path:
        return Path(settings.LAYERLOOM_DATA_ROOT) / self.path

    def stored_file(self) -> Path | None:
        """The artifact's file, or None when it is missing or would lie outside the data root.

        The path is written by the worker, but whatever reads or sends the file (downloads,
        the admin, the predict endpoint) must never leave the data root. On a remote store
        this is the host's copy, downloaded when it has none.
        """
        if not self.inside_data_root():
            return None
        try:
            path = filestore.local_file(self.path, self.size_bytes).resolve()
        except FileNotFoundError:
            return None
        return path if path.is_file() else None

    def inside_data_root(self) -> bool:
        root = Path(settings.LAYERLOOM_DATA_ROOT).resolve()
        return self.absolute_path.resolve().is_relative_to(root)


class Estimate(models.Model):
    """A dry run asked for through the API: queued and run on a training worker like a job, one
    per user at a time, answered by polling (workers.estimates holds its transitions)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="estimates")
    # What the dry run's child reads: framework, the checked spec, dataset id, hyperparameters.
    request = models.JSONField()
    # Known in the web process from the spec alone: parameter count and the weights' size.
    sizes = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    queue = models.CharField(max_length=64, default="training")
    answer = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The client's last poll: an estimate nobody asks about any more is cancelled.
    polled_at = models.DateTimeField(default=timezone.now)
    run_owner = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"Estimate {self.pk} ({self.status})"
