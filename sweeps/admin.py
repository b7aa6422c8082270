"""Sweeps for operators: list, filter, read each trial, and cancel (every trial with it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sweeps import services
from sweeps.models import Sweep
from workers.lifecycle import JobStateError


@admin.register(Sweep)
class SweepAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "framework", "method", "status", "trial_count", "winner", "created"]
    list_filter = ["status", "method", "framework", ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=id", "name", "owner__username", "dataset__name"]
    list_select_related = ["owner", "winner"]
    actions = ["cancel_sweeps"]
    readonly_fields = [f.name for f in Sweep._meta.get_fields() if f.concrete and f.name != "id"] + ["trials_table"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a sweep is created through its checks (API, page), never as a bare row

    @admin.display(description="trials")
    def trial_count(self, sweep: Sweep) -> int:
        return sweep.trials.count()

    @admin.display(description="Trials (status in words; compared on validation only)")
    def trials_table(self, sweep: Sweep) -> Any:
        rows = [
            (t.number, t.params, reverse("admin:workers_trainingjob_change", args=[t.job_id]) if t.job_id else "#",
             t.job.get_status_display() if t.job else t.status, t.job.epoch if t.job else 0,
             "" if t.value is None else f"{t.value:.6g}")
            for t in sweep.trials.select_related("job")
        ]  # fmt: skip
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td><a href='{}'>job</a></td><td>{}</td><td>{}</td>"
                                "<td>{}</td></tr>", rows)  # fmt: skip
        return format_html("<table><tr><th>#</th><th>settings</th><th></th><th>status</th><th>epochs</th>"
                           "<th>{}</th></tr>{}</table>", sweep.metric, body)  # fmt: skip

    @admin.action(description="Cancel the selected sweeps and their queued or running trials")
    def cancel_sweeps(self, request: HttpRequest, queryset: QuerySet[Sweep]) -> None:
        done = 0
        for sweep in queryset:
            try:
                services.cancel_sweep(sweep)
                done += 1
            except JobStateError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"Cancelled {done} sweep(s).", messages.SUCCESS)
