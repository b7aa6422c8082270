"""A dataset: one upload, its ingestion status, profile and materialised arrays."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models

from webapp import filestore


def kind_choices() -> list[tuple[str, str]]:
    """The registered dataset kinds (builder.datasets.kinds): a new kind needs no migration."""
    # Imported when called: the kinds bring numpy, pyarrow and Pillow, which models need not load.
    from builder.datasets.kinds import kind_choices as registered

    return registered()


class Dataset(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Task(models.TextChoices):
        UNKNOWN = "", "Not known yet"
        CLASSIFICATION = "classification", "Classification"
        REGRESSION = "regression", "Regression"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=kind_choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True, help_text="Why ingestion failed, written for a person.")
    original_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    source = models.CharField(max_length=500, blank=True, help_text="The stored upload, relative to the data root.")
    options = models.JSONField(default=dict, blank=True)
    profile = models.JSONField(default=dict, blank=True)
    task = models.CharField(max_length=16, choices=Task.choices, default=Task.UNKNOWN, blank=True)
    input_shape = models.JSONField(default=list, blank=True)
    num_classes = models.PositiveIntegerField(null=True, blank=True)
    class_names = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    # Names the dataset's folder: unlike the integer id, it is never reused after a database
    # reset or restore, so a new row can never pick up an old row's files.
    storage_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "sha256"])]

    def __str__(self) -> str:
        return self.name

    @property
    def data_dir(self) -> Path:
        return Path(settings.LAYERLOOM_DATA_ROOT) / "datasets" / str(self.storage_key)

    @property
    def version_dir(self) -> Path:
        """Where this host writes (ingestion) the current version's arrays."""
        return self.data_dir / f"v{self.version}"

    def stored_version_dir(self, version: int | None = None, pin: bool = False) -> Path:
        """A local folder holding a stored version's arrays (the current one by default): the
        stored folder itself on local files, this host's cached copy when the store is remote
        (pin: kept from eviction while this process lives, as a job's training process does)."""
        return filestore.local_dir(f"datasets/{self.storage_key}/v{version or self.version}", pin=pin)
