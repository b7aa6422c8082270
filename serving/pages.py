"""The browser's predict page: a form made from the dataset's preprocessing document.

The page only shows the form; its script posts to POST /api/jobs/{id}/predict/, the
endpoint scripts call, so the browser and the API answer with the same code.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from builder.datasets.preprocessing import is_missing, sniff_image_format
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
    example = first_test_input(job, doc)
    value = example.value if example else None
    context.update(
        kind=doc["kind"],
        task=doc.get("task", "classification"),
        target=str(doc.get("target_column") or ""),
        has_example=example is not None,
        example_label=example.label if example else "",
        # Named endpoints serving this job now: scripts that call them get the same answers.
        endpoints=[
            request.build_absolute_uri(reverse("api:model-predict", kwargs={"name": endpoint.name}))
            for endpoint in job.endpoints.filter(owner=request.user)
        ],
    )
    if doc["kind"] == "tabular":
        context["fields"] = table_fields(doc, value if isinstance(value, dict) else {})
    elif doc["kind"] == "text":
        context["example_text"] = value if isinstance(value, str) else ""
    else:
        context["example_image"] = data_url(value) if isinstance(value, bytes) else ""
        context["has_example"] = bool(context["example_image"])
    return render(request, "serving/predict.html", context)


def table_fields(doc: dict[str, Any], example: dict[str, str]) -> list[dict[str, Any]]:
    """One control per input column, in the document's order, holding the example's value."""
    fields = []
    for index, feature in enumerate(doc["features"]):
        raw = example.get(feature["name"])
        field: dict[str, Any] = {"id": f"col-{index}", "name": feature["name"], "type": feature["type"]}
        if feature["type"] == "categorical":
            categories = [str(c) for c in feature["categories"]]
            value = "" if is_missing(raw) else str(raw)
            field.update(categories=categories, impute=str(feature.get("impute", "")), value=value,
                         unseen=value if value and value not in categories else "")  # fmt: skip
        else:
            field["value"] = number_text(raw)
        fields.append(field)
    return fields


def number_text(raw: Any) -> str:
    """A CSV cell as a number input's value: '' (missing, imputed as in training) unless finite."""
    if is_missing(raw):
        return ""
    try:
        number = float(str(raw).strip())
    except ValueError:
        return ""
    return str(raw).strip() if math.isfinite(number) else ""


def data_url(image: bytes) -> str:
    kind = (sniff_image_format(image[:32]) or "").lower()
    if not kind:
        return ""
    return f"data:image/{kind};base64,{base64.b64encode(image).decode()}"
