"""Job management for operators: list, filter, search, and cancel / retry / requeue.

The actions call workers.services, the same functions the API calls, so "cancel" means
one thing wherever it is clicked.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, JSONField, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from builder import admin as builder_admin
from builder.models import Dataset
from workers import deletion, placement, services
from workers.downloads import MissingFile, artifact_response
from workers.models import Artifact, Metric, TrainingJob

# Metric keys worth a column, best first.
FINAL_KEYS = ("val_accuracy", "accuracy", "val_loss", "loss")


MAX_METRIC_ROWS = 500


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    # Few, narrow columns so the list fits 1280 px; queue, worker and dates are filters and search.
    list_display = [
        "id",
        "model_name",
        "owner",
        "framework",
        "status_badge",
        "progress",
        "where",
        "duration",
        "final_metric",
        "created",
    ]
    list_filter = [
        "status", "framework", "queue", ("owner", admin.RelatedOnlyFieldListFilter),
        ("created", admin.DateFieldListFilter), ("finished_at", admin.DateFieldListFilter), "cancel_requested",
    ]  # fmt: skip
    search_fields = ["=id", "owner__username", "dataset__name", "architecture__name", "worker_host",
                     "device_name", "error"]  # fmt: skip
    list_select_related = ["owner", "dataset", "architecture"]
    date_hierarchy = "created"
    actions = ["cancel_jobs", "retry_jobs", "requeue_jobs", "delete_jobs"]
    list_per_page = 50
    readonly_fields = [f.name for f in TrainingJob._meta.get_fields() if f.concrete and f.name != "id"] + [
        "duration", "final_metric", "metrics_table", "downloads"
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["owner", "status", "cancel_requested", "framework", "dataset", "dataset_version",
                           "architecture", "retry_of", "error"]}),
        ("Progress", {"fields": ["epoch", "total_epochs", "batch", "batches_per_epoch", "percent", "eta_seconds",
                                 "resumed_from_epoch", "duration", "final_metric"]}),
        ("Metrics and files", {"fields": ["metrics_table", "downloads"]}),
        ("Where it ran", {"fields": ["queue", "worker_host", "worker_pid", "device_name", "attempts", "heartbeat_at",
                                     "created", "started_at", "finished_at"]}),
        ("Frozen inputs and evaluation", {"classes": ["collapse"],
                                          "fields": ["hyperparameters", "spec", "evaluation"]}),
    ]  # fmt: skip

    def get_urls(self) -> list[Any]:
        download = self.admin_site.admin_view(self.download_artifact)
        route = path("<int:job_id>/artifacts/<int:artifact_id>/", download, name="workers_trainingjob_artifact")
        trainers = path("trainers/", self.admin_site.admin_view(self.trainers_view), name="workers_trainers")
        return [route, trainers, *super().get_urls()]

    def trainers_view(self, request: HttpRequest) -> TemplateResponse:
        """The live workers (those that answer Celery's remote control now), their queues and what
        they have, and each training queue's waiting jobs beside the workers that read it."""
        if not self.has_view_permission(request):
            raise Http404("No such page.")
        workers = placement.live_workers(timeout=1.0)
        waiting = TrainingJob.objects.filter(status=TrainingJob.Status.QUEUED).values("queue").annotate(n=Count("pk"))
        queues = {row["queue"]: row["n"] for row in waiting}
        base = settings.LAYERLOOM_TRAINING_QUEUE
        for device in placement.SUFFIX:
            queues.setdefault(placement.queue_for(device, base), 0)
        rows = [{"name": name, "waiting": n, "readers": placement.readers(name, workers)} for name, n in sorted(queues.items())]
        context = {**self.admin_site.each_context(request), "title": "Live trainers", "workers": workers, "queues": rows,
                   "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/workers/trainers.html", context)

    def download_artifact(self, request: HttpRequest, job_id: int, artifact_id: int) -> HttpResponse:
        """Staff download any job's file (the API serves owners only); never outside the data root."""
        if not self.has_view_permission(request):
            raise Http404("No such artifact.")
        artifact = Artifact.objects.filter(job_id=job_id, pk=artifact_id).first()
        try:
            if artifact is None:
                raise MissingFile(str(artifact_id))
            return artifact_response(artifact)
        except MissingFile:
            raise Http404("No such artifact, or its file is missing.") from None

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

    @admin.display(description="Model", ordering="architecture__name")
    def model_name(self, job: TrainingJob) -> str:
        """The saved architecture's name, with the spec's own name beside it where they differ."""
        if job.spec_detail:
            return format_html("{} <small>(spec {})</small>", job.title, job.spec_detail)
        return job.title

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

    @admin.display(description="Device and worker")
    def where(self, job: TrainingJob) -> str:
        if not (job.device_name or job.worker_host):
            return "-"
        return format_html("{}<br><small>{}</small>", job.device_name or "-", job.worker_host or "")

    @admin.display(description="Metrics per epoch")
    def metrics_table(self, job: TrainingJob) -> str:
        """One compact table: a row per epoch, a column per metric."""
        rows = list(job.metrics.order_by("epoch").values_list("epoch", "values")[:MAX_METRIC_ROWS])
        if not rows:
            return "-"
        keys = sorted({k for _, values in rows for k in values}, key=lambda k: (k.startswith("val_"), k))
        head = format_html_join("", "<th>{}</th>", ((k,) for k in ["epoch", *keys]))
        body = format_html_join(
            "", "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((_cell(v),) for v in [epoch, *(values.get(k) for k in keys)])),)
             for epoch, values in rows),
        )  # fmt: skip
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)

    @admin.display(description="Downloads")
    def downloads(self, job: TrainingJob) -> str:
        artifacts = list(job.artifacts.all())
        if not artifacts:
            return "-"
        items = (
            (reverse("admin:workers_trainingjob_artifact", args=[job.pk, a.pk]), a.filename, a.kind, a.size_bytes,
             a.sha256)
            for a in artifacts
        )  # fmt: skip
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", '<li><a href="{}" download>{}</a> ({}, {} bytes, sha256 <code>{}</code>)</li>', items),
        )

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

    @admin.action(description="Requeue selected stuck or cancelled jobs (resume from checkpoint)")
    def requeue_jobs(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        self._apply(request, queryset, "Requeued", services.requeue_job)

    @admin.action(description="Delete selected finished jobs and their files", permissions=["delete"])
    def delete_jobs(self, request: HttpRequest, queryset: QuerySet[TrainingJob]) -> None:
        self._apply(request, queryset, "Deleted", deletion.delete_job)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


@admin.register(Dataset)
class DatasetAdmin(builder_admin.DatasetAdmin):
    """The dataset pages with deletes that follow the rules about the dataset's jobs."""

    actions = ["delete_datasets", "delete_datasets_with_jobs"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Django's bulk delete removes rows only; the actions below also free the files.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        deletion.delete_dataset(obj)

    @admin.action(description="Delete selected datasets without jobs, and their files", permissions=["delete"])
    def delete_datasets(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._delete(request, queryset, with_jobs=False)

    @admin.action(description="Delete selected datasets with their finished jobs, and all their files",
                  permissions=["delete"])  # fmt: skip
    def delete_datasets_with_jobs(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        self._delete(request, queryset, with_jobs=True)

    def _delete(self, request: HttpRequest, queryset: QuerySet[Dataset], with_jobs: bool) -> None:
        done = []
        for dataset in queryset.order_by("pk"):
            try:
                jobs = deletion.delete_dataset(dataset, with_jobs=with_jobs)
                done.append(f"{dataset.pk}" + (f" (with jobs {', '.join(map(str, jobs))})" if jobs else ""))
            except services.JobStateError as exc:
                self.message_user(request, f"Not deleted: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"Deleted dataset(s) {', '.join(done)}.", messages.SUCCESS)
