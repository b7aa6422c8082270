"""Admin pages for architectures and datasets (staff only, like all of the admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from builder.models import Architecture, Dataset


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
        from builder.limits import spec_limits
        from builder.spec import validate_spec

        limits = spec_limits()
        return validate_spec(obj.spec, limits=limits)


@admin.register(Dataset)
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

    actions = ["delete_datasets", "delete_datasets_with_jobs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # datasets arrive through an upload, which streams and checks the file

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Django's bulk delete removes rows only; the actions below also free the files.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        from workers.deletion import delete_dataset

        delete_dataset(obj)

    @admin.action(description="Delete selected datasets without jobs, and their files", permissions=["delete"])
    def delete_datasets(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._delete(request, queryset, with_jobs=False)

    @admin.action(description="Delete selected datasets with their finished jobs, and all their files",
                  permissions=["delete"])  # fmt: skip
    def delete_datasets_with_jobs(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._delete(request, queryset, with_jobs=True)

    def _delete(self, request: HttpRequest, queryset: QuerySet[Dataset], with_jobs: bool) -> None:
        from workers.deletion import delete_dataset
        from workers.services import JobStateError

        done = []
        for dataset in queryset.order_by("pk"):
            try:
                jobs = delete_dataset(dataset, with_jobs=with_jobs)
                done.append(f"{dataset.pk}" + (f" (with jobs {', '.join(map(str, jobs))})" if jobs else ""))
            except JobStateError as exc:
                self.message_user(request, f"Not deleted: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"Deleted dataset(s) {', '.join(done)}.", messages.SUCCESS)

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj: Dataset) -> str:
        from builder.datasets.limits import human_bytes

        return human_bytes(obj.size_bytes)
