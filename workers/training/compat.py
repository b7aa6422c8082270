"""Does an architecture fit a dataset? Checked at submission, before anything is queued.

Uses builder.datasets.check when it is available (the datasets package owns the rules
about its own data) and falls back to the same basic checks here: the dataset is ready,
its sample shape is the model's input shape, and the output fits the task.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from builder.models import Dataset
from builder.spec import Limits, validate_spec


def compatibility_errors(spec: dict[str, Any], dataset: Dataset) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if dataset.status != Dataset.Status.READY:
        errors["dataset"] = [f"Dataset {dataset.name!r} is not ready to train on (it is {dataset.status})."]
        return errors
    limits = Limits(max_layers=settings.LAYERLOOM_MAX_LAYERS, max_params=settings.LAYERLOOM_MAX_PARAMS)
    report = validate_spec(spec, limits=limits)
    if not report.ok:
        errors["architecture"] = [_describe(e.to_dict()) for e in report.errors]
        return errors
    shared = _shared_check(spec, dataset)
    if shared is not None:
        return shared
    model_in = tuple(report.input_shape or ())
    data_in = tuple(dataset.input_shape or ())
    if data_in and model_in != data_in:
        errors.setdefault("architecture", []).append(
            f"The model's input shape {list(model_in)} does not match the dataset's samples {list(data_in)}."
        )
    out = tuple(report.output_shape or ())
    if dataset.task == Dataset.Task.CLASSIFICATION:
        classes = dataset.num_classes or 0
        if out != (classes,) and not (classes == 2 and out == (1,)):
            errors.setdefault("architecture", []).append(
                f"The dataset has {classes} classes, so the last layer must output {classes} values "
                f"(it outputs {list(out)}); use Dense({classes}, activation='softmax')."
            )
    elif dataset.task == Dataset.Task.REGRESSION and out != (1,):
        errors.setdefault("architecture", []).append(
            f"The dataset is a regression, so the last layer must output one value (it outputs {list(out)})."
        )
    return errors


def _shared_check(spec: dict[str, Any], dataset: Dataset) -> dict[str, list[str]] | None:
    """builder.datasets.check's verdict when that module exists; None to use the checks here."""
    try:
        from builder.datasets.check import check_against_dataset  # type: ignore[import-not-found]
    except ImportError:
        return None
    result = check_against_dataset(spec, dataset)
    if isinstance(result, dict):
        return {key: list(value) for key, value in result.items()}
    if isinstance(result, list | tuple):
        return {"architecture": [str(item) for item in result]} if result else {}
    return None


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in (error.get("layer_id"), error.get("param")) if part)
    return f"{where}: {error['message']}" if where else str(error["message"])
