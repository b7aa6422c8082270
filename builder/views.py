"""Browser views of the builder app."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from builder.datasets.errors import DatasetError, OptionsError
from builder.demo import DEMOS, create_demo_dataset


@require_POST
def add_demo_dataset(request: HttpRequest) -> HttpResponse:
    """One click: the signed-in user's copy of a demo dataset, ingested in the background."""
    key = request.POST.get("demo", "")
    if key not in DEMOS:
        messages.error(request, f"There is no demo called {key!r}; choose one of {', '.join(DEMOS)}.")
        return redirect("dashboard")
    try:
        dataset = create_demo_dataset(request.user, key)
    except (DatasetError, OptionsError) as exc:
        messages.error(request, f"The demo could not be added: {exc}")
        return redirect("dashboard")
    if getattr(dataset, "duplicate", False):
        messages.info(request, f"You already have {dataset.name}.")
    else:
        # Tagged with the dataset, so the dashboard says "ready" in its place once it is.
        messages.success(request, f"Added {dataset.name}; it is being prepared.", extra_tags=f"prepares-dataset-{dataset.pk}")
    return redirect("dashboard")
