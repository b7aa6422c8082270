"""Site pages that belong to no single feature."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html")
