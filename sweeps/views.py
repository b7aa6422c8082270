"""Browser pages of sweeps: the list, the new-sweep form for an architecture, one sweep's page.

The pages read the owner's rows; creating, cancelling and publishing go through the JSON API
from the browser (/api/sweeps/), so a page and a script get the same checks and messages.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from builder.codegen.frameworks import CHOICES
from builder.models import Architecture, Dataset
from builder.spec import REGISTRY
from sweeps.models import Sweep
from sweeps.space import FIXED, METRICS
from workers.views import _int, hyperparameter_fields

# Offered first, with a suggested range: what people tune most.
SUGGESTED = {"learning_rate": {"low": 0.0003, "high": 0.03, "log": True}, "batch_size": {"listed": "16, 32, 64"}}


@require_GET
def sweep_list(request: HttpRequest) -> HttpResponse:
    sweeps = Sweep.objects.filter(owner=request.user).select_related("dataset").prefetch_related("trials")
    architectures = Architecture.objects.filter(owner=request.user).order_by("-updated")[:100]
    return render(request, "sweeps/sweep_list.html", {"sweeps": sweeps[:200], "architectures": architectures})


def layer_fields(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A field per numeric or choice parameter of each layer, from the layer's own parameter schema."""
    fields = []
    for layer in spec.get("layers", []):
        kind = REGISTRY.get(str(layer.get("type")))
        if kind is None:
            continue
        for name, prop in kind.json_schema().get("properties", {}).items():
            for variant in prop.get("anyOf", []):
                if variant.get("type") != "null":
                    prop = {**prop, **variant}
            if prop.get("type") not in ("integer", "number") and "enum" not in prop:
                continue
            current = (layer.get("params") or {}).get(name, prop.get("default"))
            fields.append({"name": f"layers.{layer['id']}.{name}", "label": f"{layer['id']} ({layer['type']}): {name}",
                           "type": "string" if "enum" in prop else prop["type"], "choices": prop.get("enum", []),
                           "default": current, "help": prop.get("description", "")})  # fmt: skip
    return fields


@require_GET
def sweep_new(request: HttpRequest) -> HttpResponse:
    """Choose which fields of an architecture and its training vary; the API checks what is sent."""
    architecture = Architecture.objects.filter(owner=request.user, pk=_int(request.GET.get("architecture"))).first()
    if architecture is None:
        raise Http404("Choose one of your architectures: /sweeps/new/?architecture=<id>.")
    datasets = Dataset.objects.filter(owner=request.user, status=Dataset.Status.READY)
    chosen = _int(request.GET.get("dataset")) or architecture.dataset_id
    hp_fields = [dict(f, suggested=SUGGESTED.get(f["name"])) for f in hyperparameter_fields()
                 if f["name"] not in FIXED and f["type"] != "boolean"]  # fmt: skip
    context = {
        "architecture": architecture,
        "datasets": datasets,
        "chosen_dataset": chosen if datasets.filter(pk=chosen).exists() else None,
        "frameworks": CHOICES,
        "hp_fields": hp_fields,
        "layer_fields": layer_fields(architecture.spec),
        "metrics": list(METRICS),
        "methods": Sweep.Method.choices,
    }
    return render(request, "sweeps/sweep_new.html", context)


@require_GET
def sweep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = Sweep.objects.filter(owner=request.user, pk=pk).select_related("dataset", "winner").first()
    if sweep is None:
        raise Http404("No such sweep among yours.")
    evaluation = (sweep.winner.evaluation or {}) if sweep.winner is not None else {}
    return render(request, "sweeps/sweep_detail.html", {
        "sweep": sweep, "settings": sorted(set(sweep.space) | ({"architecture"} if len(sweep.architectures) > 1 else set())),
        "winner_evaluation": evaluation if evaluation.get("split") == "test" else None,
    })  # fmt: skip
