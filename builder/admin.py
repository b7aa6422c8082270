"""Admin pages for architectures and datasets (staff only, like all of the admin).

The dataset page is registered by workers/admin.py, which adds the delete actions: deleting
a dataset is a rule about its jobs (workers.deletion), and builder never imports workers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from builder.datasets.limits import human_bytes
from builder.limits import spec_limits
from builder.models import Architecture, Dataset
from builder.spec import validate_spec


@admin.register(Architecture)
class ArchitectureAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "layer_count", "total_params", "created", "updated"]
    list_filter = [("created", admin.DateFieldListFilter), ("updated", admin.DateFieldListFilter)]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["created", "updated", "validation_report"]
    date_hierarchy = "created"

    @admin.display(description="Layers")
    def layer_count(self, obj: Architecture) -> int:
        layers = obj.spec.get("layers") if isinstance(obj.spec, dict) else None
        return len(layers) if isinstance(layers, list) else 0

    @admin.display(description="Params")
    def total_params(self, obj: Architecture) -> str:
        report = self._report(obj)
        return f"{report.total_params:,}" if report.ok else "invalid"

    @admin.display(description="Validation")
    def validation_report(self, obj: Architecture) -> str:
        if obj.pk is None:
            return "Checked when saved."
        report = self._report(obj)
        if not report.ok:
            return "\n".join(str(error) for error in report.errors)
        return f"Valid: {len(report.layers)} layers, {report.total_params:,} parameters, output {report.output_shape}."

    def _report(self, obj: Architecture) -> Any:
        return validate_spec(obj.spec, limits=spec_limits())


class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "kind", "status", "task", "size", "version", "created"]
    list_filter = ["status", "kind", "task", ("created", admin.DateFieldListFilter)]
    search_fields = ["name", "owner__username", "original_filename", "sha256"]
    list_select_related = ["owner"]
    date_hierarchy = "created"
    # Everything but the name is written by ingestion; editing it by hand would desynchronise the files.
    readonly_fields = [
        "owner", "kind", "status", "error", "original_filename", "sha256", "size_bytes", "source", "options",
        "profile", "task", "input_shape", "num_classes", "class_names", "version", "created", "updated",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # datasets arrive through an upload, which streams and checks the file

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj: Dataset) -> str:
        return human_bytes(obj.size_bytes)
