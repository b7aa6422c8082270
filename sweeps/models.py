"""Hyperparameter sweeps: many training jobs (trials) with one purpose, and one honest winner.

A sweep's trials are ordinary TrainingJob rows, linked here by SweepTrial. The search (which
settings the next trial gets) and the pruning (which running trial stops early) are Optuna's
samplers and pruner, driven from the rows of this app: Optuna's in-memory study is rebuilt
from them at each decision (sweeps.search), so the database holds the only copy of a sweep.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from builder.codegen import frameworks
from workers.models import TrainingJob


class Sweep(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        EVALUATING = "evaluating", "Evaluating the winner on the test split"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    class Method(models.TextChoices):
        GRID = "grid", "Grid"
        RANDOM = "random", "Random (seeded)"
        TPE = "tpe", "Model-based (TPE)"

    class Pruner(models.TextChoices):
        MEDIAN = "median", "Median rule"
        NONE = "none", "No pruning"

    ACTIVE = (Status.RUNNING, Status.EVALUATING)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sweeps")
    name = models.CharField(max_length=200, blank=True)
    # A sweep goes with its dataset: deleting a dataset is refused while jobs use it (its trials'
    # jobs among them, workers.deletion), and once they are deleted the sweep has nothing left.
    dataset = models.ForeignKey("builder.Dataset", on_delete=models.CASCADE, related_name="sweeps")
    framework = models.CharField(max_length=8, choices=frameworks.CHOICES)
    # Frozen copies: [{"id": architecture id, "name": ..., "spec": {...}}, ...]; a trial's
    # "architecture" setting is the id of one of them.
    architectures = models.JSONField()
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.RANDOM)
    space = models.JSONField(help_text="What varies: {name: {values: [...]} | {low, high, log, integer, step}}.")
    hyperparameters = models.JSONField(default=dict, help_text="Settings every trial shares (what does not vary).")
    metric = models.CharField(max_length=32, default="val_loss")
    direction = models.CharField(max_length=8, default="minimize")
    seed = models.PositiveIntegerField(default=0)
    max_trials = models.PositiveIntegerField(default=10)
    max_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="No trial starts after this long.")
    parallel = models.PositiveIntegerField(default=2)
    pruner = models.CharField(max_length=8, choices=Pruner.choices, default=Pruner.MEDIAN)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING, db_index=True)
    winner = models.ForeignKey(TrainingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The winner's settings trained again on the training and validation rows together (one action
    # once the sweep has finished): workers.training.runner merges the two splits for this job.
    retrained = models.OneToOneField(TrainingJob, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="retrain_of_sweep")  # fmt: skip
    note = models.TextField(blank=True, help_text="How the sweep ended, for a person.")
    created = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"Sweep {self.pk}: {self.title} ({self.status})"

    @property
    def title(self) -> str:
        return self.name or " / ".join(str(a.get("name", "model")) for a in self.architectures or [])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def architecture(self, arch_id: Any) -> dict[str, Any]:
        """The frozen architecture a trial's "architecture" setting names (the first by default)."""
        for item in self.architectures:
            if item["id"] == arch_id:
                return dict(item)
        return dict(self.architectures[0])


class SweepTrial(models.Model):
    """One point of the search: its settings and the job that trains them (none when it was refused)."""

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="trials")
    number = models.PositiveIntegerField()
    params = models.JSONField(help_text="The settings this trial varies, by their names in the space.")
    job = models.OneToOneField(TrainingJob, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="sweep_trial")  # fmt: skip
    # The validation metric of the weights the trial kept (None until it succeeded).
    value = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why no job was started for these settings.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sweep", "number"]
        constraints = [models.UniqueConstraint(fields=["sweep", "number"], name="sweeps_trial_unique_number")]

    def __str__(self) -> str:
        return f"Sweep {self.sweep_id} trial {self.number}"

    @property
    def status(self) -> str:
        if self.job is not None:
            return str(self.job.status)
        return "failed" if self.error else "deleted"
