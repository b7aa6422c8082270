"""Browser pages of training jobs: the list, the train form, one job's page and the comparison.

The pages read the owner's rows; every action (submit, cancel, retry) goes through the JSON
API from the browser, so a page and a script get the same checks and the same messages.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from builder.codegen.frameworks import CHOICES, framework
from builder.limits import spec_limits
from builder.models import Architecture, Dataset
from builder.spec import SpecValidationError, validate_spec
from webapp.templatetags.layerloom import metric
from workers import baseline_summary
from workers.hyperparameters import Hyperparameters
from workers.models import Metric, TrainingJob

MAX_COMPARED = 8
# Shown first on the train form; every other hyperparameter folds away under "More settings".
COMMON_HYPERPARAMETERS = ("optimizer", "learning_rate", "batch_size", "epochs", "patience")
# How to load each artifact kind; docs/artifacts.md has the whole story.
LOADING = {
    "keras": 'import keras\nmodel = keras.models.load_model("model.keras", compile=False)\nprobabilities = model.predict(x)',
    "savedmodel": 'unzip saved_model.zip\n# in Python: tf.saved_model.load("saved_model/1").serve(x)',
    "safetensors": 'from safetensors.torch import load_file\nfrom model import build_model  # model.py from code_bundle.zip\n'
    'model = build_model()\nmodel.load_state_dict(load_file("model.safetensors"))\nmodel.eval()',
    "torchscript": 'import torch\nmodel = torch.jit.load("model.pt", map_location="cpu")\nprobabilities = model(x_channels_first)',
    "onnx": 'import onnxruntime as ort\nsession = ort.InferenceSession("model.onnx")\n'
    'probabilities = session.run(["output"], {"input": x})[0]',
    "code_bundle": "unzip code_bundle.zip && cd code_bundle\npip install -r requirements.txt\n"
    "python predict.py your_data.csv  # see README.md inside",
}


def owned_job(user: Any, pk: int) -> TrainingJob:
    job = TrainingJob.objects.filter(owner=user, pk=pk).select_related("dataset", "architecture").first()
    if job is None:
        raise Http404("No such job among yours.")
    return job


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = TrainingJob.objects.filter(owner=request.user).select_related("dataset", "architecture")
    return render(request, "workers/job_list.html", {"jobs": jobs[:200]})


@require_GET
def job_new(request: HttpRequest) -> HttpResponse:
    """The train form for one architecture; the API's job creation checks what is sent."""
    architecture = Architecture.objects.filter(owner=request.user, pk=_int(request.GET.get("architecture"))).first()
    if architecture is None:
        raise Http404("Choose one of your architectures: /jobs/new/?architecture=<id>.")
    datasets = Dataset.objects.filter(owner=request.user, status=Dataset.Status.READY)
    chosen = _int(request.GET.get("dataset")) or architecture.dataset_id  # else the one it was built for
    context = {
        "architecture": architecture,
        "datasets": datasets,
        "chosen_dataset": chosen if datasets.filter(pk=chosen).exists() else None,
        "frameworks": CHOICES,
        "fields": hyperparameter_fields(),
        "report": spec_report(architecture.spec),
    }
    return render(request, "workers/job_new.html", context)


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = owned_job(request.user, pk)
    evaluation = job.evaluation or {}
    artifacts = list(job.artifacts.exclude(kind="thumbnail"))
    for artifact in artifacts:
        artifact.loading = LOADING.get(artifact.kind, "")  # type: ignore[attr-defined]
    context = {
        "job": job,
        "total_epochs": job.total_epochs or (job.hyperparameters or {}).get("epochs") or "?",
        "evaluation": evaluation,
        "matrix": confusion_rows(evaluation),
        "baselines": baseline_summary.lines(evaluation),
        "baseline_verdict": baseline_summary.verdict(evaluation),
        "baseline_suggestion": baseline_summary.SUGGESTION,
        "baseline_notes": (evaluation.get("baselines") or {}).get("notes") or [],
        "artifacts": artifacts,
        "hyperparameters": [(k.replace("_", " ").capitalize(), v) for k, v in sorted((job.hyperparameters or {}).items())],
        "code": generated_code(job),
        "delete": {
            "title": f"Delete job #{job.pk}?",
            "note": "Its curves, evaluation and downloads are removed for good. Its dataset and architecture stay.",
            "url": f"/api/jobs/{job.pk}/",
            "next": "/jobs/",
        },
    }
    return render(request, "workers/job_detail.html", context)


@require_GET
def job_compare(request: HttpRequest) -> HttpResponse:
    """Several jobs side by side: their curves on shared charts and one table of finals."""
    raw = ",".join(request.GET.getlist("ids"))  # "?ids=1,2" from a link, "?ids=1&ids=2" from the list's checkboxes
    ids = list(dict.fromkeys(i for i in (_int(part) for part in raw.split(",")) if i is not None))
    jobs = list(TrainingJob.objects.filter(owner=request.user, pk__in=ids[:MAX_COMPARED]).select_related("dataset", "architecture"))
    jobs.sort(key=lambda j: ids.index(j.pk))
    rows = compare_rows(jobs) if jobs else []
    choices = TrainingJob.objects.filter(owner=request.user).select_related("dataset", "architecture")[:100]
    context = {"jobs": jobs, "rows": rows, "choices": choices, "chosen": {j.pk for j in jobs},
               "missing": len(set(ids)) - len(jobs), "too_many": len(ids) > MAX_COMPARED}  # fmt: skip
    return render(request, "workers/job_compare.html", context)


# --- helpers ----------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def hyperparameter_fields() -> list[dict[str, Any]]:
    """One form field per hyperparameter, from the pydantic schema: new options appear by themselves."""
    schema = Hyperparameters.model_json_schema()
    fields = []
    for name, prop in schema.get("properties", {}).items():
        nullable = False
        for variant in prop.pop("anyOf", []):
            if variant.get("type") == "null":
                nullable = True
            else:
                prop.update(variant)
        kind = "select" if "enum" in prop else {"boolean": "checkbox", "integer": "number", "number": "number"}.get(
            prop.get("type", ""), "text"
        )
        label = "Early stopping patience" if name == "patience" else name.replace("_", " ").capitalize()
        fields.append({
            "name": name, "label": label, "kind": kind,
            "type": prop.get("type", "string"), "default": prop.get("default"), "help": prop.get("description", ""),
            "choices": prop.get("enum", []), "nullable": nullable,
            "min": prop.get("minimum", prop.get("exclusiveMinimum")), "max": prop.get("maximum", prop.get("exclusiveMaximum")),
            "step": "1" if prop.get("type") == "integer" else "any", "common": name in COMMON_HYPERPARAMETERS,
        })  # fmt: skip
    return fields


def spec_report(spec: dict[str, Any], batch_size: int = 32) -> Any:
    """Parameters and the memory estimate of the architecture, from the pure-Python validator."""
    return validate_spec(spec, limits=spec_limits(), batch_size=batch_size)


def generated_code(job: TrainingJob) -> str:
    """The model module the job trained, generated again from its frozen spec (the same text)."""
    try:
        return framework(job.framework).generate(job.spec)
    except SpecValidationError:
        return ""


def confusion_rows(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """The confusion matrix as rows of cells, each with its share of the row (for the shading)."""
    names = evaluation.get("class_names") or []
    matrix = evaluation.get("confusion_matrix") or []
    rows = []
    for i, counts in enumerate(matrix):
        total = sum(counts) or 1
        cells = [{"true": names[i] if i < len(names) else str(i), "pred": names[j] if j < len(names) else str(j),
                  "i": i, "j": j, "count": c, "share": c / total, "correct": i == j} for j, c in enumerate(counts)]  # fmt: skip
        rows.append({"name": names[i] if i < len(names) else str(i), "cells": cells})
    return rows


def final_metrics(job: TrainingJob) -> dict[str, Any]:
    """The last epoch's metrics and the test-set numbers, each named for where it comes from."""
    last = Metric.objects.filter(job=job).order_by("-epoch").first()
    out = {f"last epoch: {k}": v for k, v in (last.values if last else {}).items()}
    for key in ("accuracy", "macro_f1", "loss", "mae", "rmse", "r2"):
        if (job.evaluation or {}).get(key) is not None:
            out[f"test: {key}"] = job.evaluation[key]
    out.update({f"test: {k}": v for k, v in baseline_summary.compare_figures(job.evaluation or {}).items()})
    return out


def compare_rows(jobs: list[TrainingJob]) -> list[dict[str, Any]]:
    """One row per setting or final metric; `differs` marks rows whose shown values are not all equal."""
    columns: list[tuple[str, list[Any]]] = [
        ("framework", [j.get_framework_display() for j in jobs]),
        ("dataset", [j.dataset.name for j in jobs]),
        ("architecture", [j.title for j in jobs]),
        ("spec name", [j.spec_name for j in jobs]),
        ("status", [j.get_status_display() for j in jobs]),
        ("epochs run", [j.epoch for j in jobs]),
        ("duration (s)", [round(j.duration_seconds, 1) if j.duration_seconds else None for j in jobs]),
    ]
    defaults = Hyperparameters().model_dump()
    for name in Hyperparameters.model_fields:
        columns.append((name, [(j.hyperparameters or {}).get(name, defaults.get(name)) for j in jobs]))
    finals = [final_metrics(j) for j in jobs]
    for key in sorted({k for f in finals for k in f}):
        columns.append((key, [f.get(key) for f in finals]))
    rows = []
    for label, values in columns:
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None)
        # "differs" compares what the table shows: 0.94441 and 0.94442 both read 0.9444.
        shown = [metric(v) if numeric else ("—" if v is None else str(v)) for v in values]
        rows.append({"label": label, "values": values, "shown": shown, "differs": len(set(shown)) > 1,
                     "numeric": numeric})  # fmt: skip
    return rows
