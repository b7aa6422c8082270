"""Named model endpoints for operators: which job serves under each name, and since when."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from serving.models import EndpointHistory, ModelEndpoint


class HistoryInline(admin.TabularInline):
    model = EndpointHistory
    extra = 0
    can_delete = False
    fields = readonly_fields = ["job_number", "job", "since", "until"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "job", "updated"]
    list_filter = ["owner"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner", "job"]
    # Re-pointing goes through serving.endpoints.publish (the API), which keeps the history.
    readonly_fields = ["owner", "name", "job", "created", "updated"]
    inlines = [HistoryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
