"""Site pages that belong to no single feature."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from builder.demo import DEMOS
from builder.models import Architecture, Dataset
from workers.models import TrainingJob


def dashboard(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own work, newest first, and the demo datasets one click away."""
    context = {
        "datasets": Dataset.objects.filter(owner=request.user)[:10],
        "architectures": Architecture.objects.filter(owner=request.user)[:10],
        "jobs": TrainingJob.objects.filter(owner=request.user).select_related("dataset", "architecture")[:10],
        "demos": DEMOS.values(),
    }
    return render(request, "dashboard.html", context)


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on pages without a rel=icon link (the API's JSON, say)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
