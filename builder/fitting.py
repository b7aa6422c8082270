"""Presets fitted to one of a person's datasets: its kind fits them to the dataset's facts."""

from __future__ import annotations

from typing import Any

from builder.datasets.check import check_against_dataset
from builder.datasets.kinds import PresetFacts, get_kind
from builder.models import Dataset
from builder.spec.presets import PresetError
from builder.spec.report import SpecError, SpecReport

# The error code of a spec that is valid but does not fit the dataset it is built for.
DATASET_MISMATCH = "dataset_mismatch"


def dataset_facts(dataset: Dataset) -> PresetFacts:
    """What fitting a preset needs from a ready dataset; PresetError while it is not ready."""
    if dataset.status != Dataset.Status.READY or not dataset.input_shape or not dataset.task:
        raise PresetError(
            f"The dataset {dataset.name!r} is {dataset.get_status_display().lower()}, not ready: presets are fitted "
            "to its shapes once ingestion has finished."
        )
    return PresetFacts(list(dataset.input_shape), dataset.task, dataset.num_classes or 1, dataset.profile or {})


def fitted_presets(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """Name -> spec for every preset that suits the dataset, as its kind fits them."""
    return get_kind(dataset.kind).fit_presets(dataset_facts(dataset))


def fitted_preset(name: str, dataset: Dataset) -> dict[str, Any]:
    return get_kind(dataset.kind).fit_preset(name, dataset_facts(dataset))


def dataset_errors(spec: Any, report: SpecReport, dataset: Dataset) -> list[SpecError]:
    """Where the spec does not fit the dataset, as spec errors on the field to change: the
    input shape, or the last layer's units or activation. Nothing while the dataset is not ready."""
    if dataset.status != Dataset.Status.READY or not isinstance(spec, dict):
        return []
    layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
    last = len(layers) - 1
    last_id = report.layers[-1].id if report.layers else None
    errors = []
    for field, message in check_against_dataset(report, dataset, spec=spec):
        if field == "input.shape":
            errors.append(SpecError(None, "shape", message, DATASET_MISMATCH, "input.shape"))
        elif field in ("units", "activation") and last_id is not None:
            errors.append(SpecError(last_id, field, message, DATASET_MISMATCH, f"layers[{last}].params.{field}"))
    return errors
