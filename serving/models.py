"""Named model endpoints: a name a user's scripts call, pointing at one of their finished jobs.

Re-pointing a name is one transaction (serving.endpoints.publish); each job that served
under the name keeps a history row with when it started and stopped serving.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
name_validator = RegexValidator(
    NAME_PATTERN,
    "Use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.",
)


class ModelEndpoint(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_endpoints")
    name = models.CharField(max_length=64, validators=[name_validator])
    # RESTRICT: a job that serves under a name cannot be deleted on its own (its owner can be).
    job = models.ForeignKey("workers.TrainingJob", on_delete=models.RESTRICT, related_name="endpoints")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="serving_endpoint_unique_name")]

    def __str__(self) -> str:
        return self.name


class EndpointHistory(models.Model):
    """One job's time serving under a name: ``until`` is empty while it still does.

    A job that served earlier may be deleted: its record stays, with the job's number and
    no files (``job`` empty).
    """

    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="history")
    job = models.ForeignKey(
        "workers.TrainingJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="endpoint_history"
    )
    job_number = models.PositiveBigIntegerField(help_text="The job's id, kept after the job is deleted.")
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint", "since", "id"]
        verbose_name_plural = "endpoint history"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.job_number is None and self.job_id is not None:
            self.job_number = self.job_id
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.endpoint.name}: job {self.job_number}"
