"""Does an architecture fit a dataset? Checked at submission, before anything is queued.

The rules about shapes and targets belong to builder.datasets.check; this adds what only a
submission needs: the dataset is ready and the spec itself is valid.
"""

from __future__ import annotations

from typing import Any

from builder.datasets.check import check_against_dataset
from builder.limits import spec_limits
from builder.models import Dataset
from builder.spec import validate_spec


def compatibility_errors(spec: dict[str, Any], dataset: Dataset) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if dataset.status != Dataset.Status.READY:
        errors["dataset"] = [f"Dataset {dataset.name!r} is not ready to train on (it is {dataset.status})."]
        return errors
    limits = spec_limits()
    report = validate_spec(spec, limits=limits)
    if not report.ok:
        errors["architecture"] = [str(error) for error in report.errors]
        return errors
    problems = check_against_dataset(spec, dataset)
    if problems:
        errors["architecture"] = [problem.message for problem in problems]
    return errors
