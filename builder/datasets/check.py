"""Does an architecture fit a dataset? Errors that name the mismatch and the fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from builder.spec import validate_spec

# What a mismatch is about: the dataset itself (not ready), the architecture's input shape,
# or the last layer's units or activation; the builder marks that field.
Field = Literal["dataset", "input.shape", "units", "activation"]


class Mismatch(NamedTuple):
    field: Field
    message: str


def _shape_text(shape: Sequence[Any]) -> str:
    return "x".join(str(d) for d in shape)


def _dataset_facts(dataset: Any) -> tuple[list[int], str, int | None]:
    if isinstance(dataset, Mapping):
        return list(dataset["input_shape"]), dataset["task"], dataset.get("num_classes")
    return list(dataset.input_shape), dataset.task, dataset.num_classes


def check_against_dataset(
    spec_report_or_spec: Any, dataset: Any, spec: Mapping[str, Any] | None = None
) -> list[Mismatch]:
    """Mismatches (empty when it fits), each naming the field to change. Takes a SpecReport or a spec dict (validated here),
    and a Dataset row or a dict with input_shape, task and num_classes. With a report,
    pass its ``spec`` too so that the output activation is checked without validating again."""
    report = spec_report_or_spec
    if isinstance(spec_report_or_spec, Mapping):
        spec = spec_report_or_spec
        report = validate_spec(spec)
    input_shape, task, num_classes = _dataset_facts(dataset)
    if not input_shape or not task:
        return [Mismatch("dataset", "The dataset is not ready yet: its shapes are known once ingestion has finished.")]
    errors: list[Mismatch] = []
    expected = list(report.input_shape) if report.input_shape is not None else None
    if expected is not None and expected != input_shape:
        errors.append(Mismatch(
            "input.shape",
            f"The dataset's input is {_shape_text(input_shape)} but the architecture expects {_shape_text(expected)}. "
            f"Set the architecture's input shape to {input_shape}.",
        ))  # fmt: skip
    if report.output_shape is None or not report.layers:
        return errors  # the spec has its own errors; validate_spec reports them
    last = report.layers[-1]
    units = report.output_shape[-1] if report.output_shape else None
    if task == "classification" and num_classes:
        binary_ok = num_classes == 2 and units == 1
        if units != num_classes and not binary_ok:
            errors.append(Mismatch(
                "units",
                f"The last {last.type} has {units} units but the dataset has {num_classes} classes. "
                f"Set its units to {num_classes}.",
            ))  # fmt: skip
    elif task == "regression" and units != 1:
        errors.append(Mismatch(
            "units",
            f"The last {last.type} has {units} units but the dataset's target is one number (regression). "
            "Set its units to 1.",
        ))  # fmt: skip
    activation = _last_activation(spec)
    if task == "regression" and activation in ("softmax", "sigmoid"):
        errors.append(Mismatch(
            "activation",
            f"The last layer uses {activation}, which squeezes outputs into 0..1; regression needs a linear output. "
            "Set its activation to linear.",
        ))  # fmt: skip
    if task == "classification" and num_classes and num_classes > 2 and activation == "sigmoid":
        errors.append(Mismatch(
            "activation",
            f"The last layer uses sigmoid, but the dataset has {num_classes} classes. Use softmax for one class per sample.",
        ))  # fmt: skip
    return errors


def _last_activation(spec: Mapping[str, Any] | None) -> str | None:
    if not spec or not spec.get("layers"):
        return None
    params = spec["layers"][-1].get("params") or {}
    activation = params.get("activation")
    return activation if isinstance(activation, str) else None
