"""Browser pages for architectures: the list and the builder.

The builder page is a shell: its script reads and writes through the REST API (validate,
codegen, presets, save), so the page and scripts always agree about a spec.
"""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from builder.models import Architecture, Dataset


def _dataset_summary(dataset: Dataset) -> str:
    """Text like "4 → 3 classes" for the header."""
    shape = "x".join(str(d) for d in dataset.input_shape) or "?"
    if dataset.task == Dataset.Task.REGRESSION:
        target = "one number"
    elif dataset.num_classes:
        target = f"{dataset.num_classes} classes"
    else:
        target = "?"
    return f"{shape} → {target}"


def architecture_list(request: HttpRequest) -> HttpResponse:
    """The user's architectures, newest change first, with their layer counts."""
    architectures = Architecture.objects.filter(owner=request.user)
    rows = [
        {"architecture": a, "layers": len(a.spec.get("layers") or []) if isinstance(a.spec, dict) else 0}
        for a in architectures
    ]
    datasets = Dataset.objects.filter(owner=request.user, status=Dataset.Status.READY)
    return render(request, "builder/architecture_list.html", {"rows": rows, "datasets": datasets})


def _builder(request: HttpRequest, architecture: Architecture | None, dataset: Dataset | None) -> HttpResponse:
    context = {
        "architecture": architecture,
        "dataset": dataset,
        "dataset_summary": _dataset_summary(dataset) if dataset else "",
        "preset": request.GET.get("preset", "")[:40],
        # The script sets the url after a first save; until then the Delete button stays hidden.
        "delete": {
            "title": "Delete this architecture?",
            "note": "Jobs trained from it keep their own copy of its layers and stay.",
            "url": f"/api/architectures/{architecture.pk}/" if architecture else "",
            "next": "/architectures/",
        },
        # Read by the script from a data attribute (autoescaped): the dataset facts that
        # decide whether the output head fits.
        "dataset_json": json.dumps(
            {
                "id": dataset.pk,
                "name": dataset.name,
                "task": dataset.task,
                "num_classes": dataset.num_classes,
                "input_shape": dataset.input_shape,
                "ready": dataset.status == Dataset.Status.READY,
            }
        )
        if dataset
        else "",
    }
    return render(request, "builder/architecture_builder.html", context)


def _dataset_in_query(request: HttpRequest) -> Dataset | None:
    """The user's dataset named by ?dataset=<id>; a malformed or foreign id is a 404."""
    dataset_id = request.GET.get("dataset", "")
    if not dataset_id:
        return None
    if not dataset_id.isdigit():
        raise Http404("No such dataset among yours.")
    return get_object_or_404(Dataset, owner=request.user, pk=int(dataset_id))


def architecture_new(request: HttpRequest) -> HttpResponse:
    """A new, unsaved architecture: empty, or from a preset fitted to ?dataset=<id>."""
    return _builder(request, None, _dataset_in_query(request))


def architecture_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The builder for a saved architecture (another user's is a 404), with ?dataset=<id> kept;
    without one, the dataset it was built for."""
    architecture = get_object_or_404(Architecture.objects.select_related("dataset"), owner=request.user, pk=pk)
    dataset = _dataset_in_query(request)
    if dataset is None and architecture.dataset is not None and architecture.dataset.owner_id == request.user.pk:
        dataset = architecture.dataset
    return _builder(request, architecture, dataset)
