"""Site pages that belong to no single feature."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from builder.demo import DEMOS
from builder.models import Architecture, Dataset
from workers.models import TrainingJob


def dashboard(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own work, newest first, and the demo datasets one click away."""
    context = {
        "datasets": Dataset.objects.filter(owner=request.user)[:10],
        "architectures": Architecture.objects.filter(owner=request.user)[:10],
        "jobs": TrainingJob.objects.filter(owner=request.user).select_related("dataset")[:10],
        "demos": DEMOS.values(),
    }
    return render(request, "dashboard.html", context)
