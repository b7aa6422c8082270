"""An architecture: a named spec document (format 1) owned by one user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from builder.limits import spec_limits
from builder.spec import validate_spec


class Architecture(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="architectures")
    name = models.CharField(max_length=120)
    spec = models.JSONField(help_text="The architecture spec, format 1 (docs/architecture-format.md).")
    # The dataset it was built for: the builder and the train form offer it when it is reopened.
    dataset = models.ForeignKey(
        "builder.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="architectures",
        help_text="The dataset this architecture was built for (offered when it is reopened and trained).",
    )  # fmt: skip
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated", "-id"]
        indexes = [models.Index(fields=["owner", "-updated"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        report = validate_spec(self.spec, limits=spec_limits())
        if report.errors:
            raise ValidationError({"spec": [str(error) for error in report.errors]})

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The same validation guards every way in: forms, API, admin, shell.
        self.clean()
        super().save(*args, **kwargs)

