"""Job management for operators: list, filter, search, and cancel / retry / requeue.

The actions call workers.services, the same functions the API calls, so "cancel" means
one thing wherever it is clicked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html

from workers import deletion, services
from workers.models import Artifact, Metric, TrainingJob

# Metric keys worth a column, best first.
FINAL_KEYS = ("val_accuracy", "accuracy", "val_loss", "loss")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MetricInline(ReadOnlyInline):
    model = Metric
    fields = readonly_fields = ["epoch", "step", "values", "created"]


class ArtifactInline(ReadOnlyInline):
    model = Artifact
    fields = readonly_fields = ["kind", "filename", "size_bytes", "sha256", "path", "created"]


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = [
        "id", "owner", "framework", "status_badge", "progress", "device_name", "worker_host", "duration",
        "final_metric", "queue", "created",
    ]  # fmt: skip
    list_filter = [
        "status", "framework", "queue", ("owner", admin.RelatedOnlyFieldListFilter),
        ("created", admin.DateFieldListFilter), ("finished_at", admin.DateFieldListFilter), "cancel_requested",
    ]  # fmt: skip
    search_fields = ["=id", "owner__username", "dataset__name", "architecture__name", "worker_host",
                     "device_name", "error"]  # fmt: skip
    list_select_related = ["owner", "dataset", "architecture"]
    date_hierarchy = "created"
    actions = ["cancel_jobs", "retry_jobs", "requeue_jobs", "delete_jobs"]
    inlines = [MetricInline, ArtifactInline]
    list_per_page = 50
    readonly_fields = [f.name for f in TrainingJob._meta.get_fields() if f.concrete and f.name != "id"] + [
        "duration", "final_metric"
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are submitted through the API or the site, which check them

    def has_delete_permission(self, request: HttpRequest, obj: TrainingJob | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_active)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Django's bulk delete removes rows only; delete_jobs also frees their files.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: TrainingJob) -> None:
        deletion.delete_job(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingJob]:
        last = Metric.objects.filter(job=OuterRef("pk")).order_by("-epoch", "-step").values("values")[:1]
        return super().get_queryset(request).annotate(last_metrics=Subquery(last, output_field=JSONField()))

    # --- columns --------------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, job: TrainingJob) -> str:
        if job.status == TrainingJob.Status.RUNNING and job.cancel_requested:
            return "running (cancelling)"
        return str(job.status)

    @admin.display(description="Progress", ordering="percent")
    def progress(self, job: TrainingJob) -> str:
        if job.total_epochs:
            return format_html("{}% <small>(epoch {}/{})</small>", f"{job.percent:.0f}", job.epoch, job.total_epochs)
        return f"{job.percent:.0f}%"

    @admin.display(description="Duration")
    def duration(self, job: TrainingJob) -> str:
        seconds = job.duration_seconds
        if seconds is None:
            return "-"
        minutes, secs = divmod(int(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

    @admin.display(description="Final metric")
    def final_metric(self, job: TrainingJob) -> str:
        evaluation = job.evaluation or {}
        for key, label in (("accuracy", "test accuracy"), ("rmse", "test RMSE")):
            if isinstance(evaluation.get(key), int | float):
                return f"{label} {evaluation[key]:.4f}"
        values = getattr(job, "last_metrics", None)
        if values is None:  # the change page: no annotation
            last = job.metrics.order_by("-epoch", "-step").first()
            values = last.values if last else None
        for key in FINAL_KEYS:
            if isinstance(values, dict) and isinstance(values.get(key), int | float):
                return f"{key} {values[key]:.4f}"
        return "-"

    # --- actions: the same code paths as the API ------------------------------------

    def _apply(self, request: HttpRequest, queryset: QuerySet[TrainingJob], verb: str, func: Any) -> None:
        done, refused = [], []
        for job in queryset.order_by("pk"):
            try:
                func(job)
                done.append(str(job.pk))
            except (services.JobStateError, services.JobRejected) as exc:
                refused.append(f"job {job.pk}: {exc}")
        if done:
            self.message_user(request, f"{verb} job(s) {', '.join(done)}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, f"Not {verb.lower()} {reason}", messages.WARNING)

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        self._apply(request, queryset, "Cancelled", services.cancel_job)

    @admin.action(description="Retry selected failed or cancelled jobs (as new jobs)")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        self._apply(request, queryset, "Retried", services.retry_job)

    @admin.action(description="Requeue selected stuck jobs (resume from checkpoint)")
    def requeue_jobs(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        self._apply(request, queryset, "Requeued", services.requeue_job)

    @admin.action(description="Delete selected finished jobs and their files", permissions=["delete"])
    def delete_jobs(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        self._apply(request, queryset, "Deleted", deletion.delete_job)
