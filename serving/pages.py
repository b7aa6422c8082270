"""The browser's predict page: a form made from the dataset's preprocessing document.

The input card is the dataset kind's: its predict_template partial, filled by its
predict_context, driven by the script through the widget the kind declares.

The page only shows the form; its script posts to POST /api/jobs/{id}/predict/, the
endpoint scripts call, so the browser and the API answer with the same code.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from builder.datasets.kinds import kind_of
from serving.examples import first_test_input
from serving.sessions import CACHE, NotServable
from workers.models import TrainingJob


def predict_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The form for a job that succeeded; otherwise why it cannot predict (another user's job is a 404)."""
    job = get_object_or_404(TrainingJob.objects.select_related("dataset"), owner=request.user, pk=pk)
    context: dict[str, Any] = {
        "job": job,
        "dataset": job.dataset,
        "api_url": request.build_absolute_uri(reverse("api:job-predict", kwargs={"pk": job.pk})),
    }
    try:
        model = CACHE.get(job)  # the same checks and the same document as the endpoint
    except NotServable as exc:
        context["problem"] = str(exc)
        return render(request, "serving/predict.html", context)
    doc = model.doc
    kind = kind_of(doc)
    example = first_test_input(job, doc)
    context.update(
        kind=kind,
        task=doc.get("task", "classification"),
        target=str(doc.get("target_column") or ""),
        example_label=example.label if example else "",
        # Named endpoints serving this job now: scripts that call them get the same answers.
        endpoints=[
            request.build_absolute_uri(reverse("api:model-predict", kwargs={"name": endpoint.name}))
            for endpoint in job.endpoints.filter(owner=request.user)
        ],
    )
    context.update(kind.predict_context(doc, example))  # the widget's values and has_example
    return render(request, "serving/predict.html", context)
