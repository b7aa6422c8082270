"""A sweep's search space: what may vary, checked before anything runs.

Pure Python (pydantic and the spec validator), so the web process checks a sweep without
Optuna. A space maps a name to a choice or a range:

    {"learning_rate": {"low": 1e-4, "high": 0.1, "log": true},
     "batch_size": {"values": [16, 32, 64]},
     "layers.hidden.units": {"low": 8, "high": 128, "integer": true, "step": 8}}

Names are hyperparameters (workers.hyperparameters) or a layer's parameter as
``layers.<layer id>.<parameter>``; with several architectures, ``architecture`` is added as a
choice of their ids. Every choice and both ends of every range are checked with the same
validators a job gets, so a trial can only be refused for a combination.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from builder.spec import REGISTRY, validate_spec
from workers.hyperparameters import Hyperparameters, parse_hyperparameters

Scalar = float | int | str | bool | None
# Settings a sweep may not vary: where a job runs, not what it learns.
FIXED = ("device", "mixed_precision")
ARCHITECTURE = "architecture"
MAX_GRID = 10_000
# Validation metrics a sweep compares trials on, with the direction that is better.
METRICS = {"val_loss": "minimize", "val_accuracy": "maximize", "val_mae": "minimize", "val_rmse": "minimize"}
CLASSIFICATION_ONLY = {"val_accuracy"}
REGRESSION_ONLY = {"val_mae", "val_rmse"}


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: list[Scalar] = Field(min_length=1, max_length=100)


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    log: bool = False
    integer: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not math.isfinite(self.low) or not math.isfinite(self.high):
            raise ValueError("low and high must be finite numbers")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low above 0")
        if self.log and self.step is not None:
            raise ValueError("give either log or step, not both")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError("an integer range needs whole numbers for low and high")
        if self.integer and self.step is not None and self.step != int(self.step):
            raise ValueError("an integer range needs a whole step")
        return self

    def ends(self) -> list[Scalar]:
        return [int(self.low), int(self.high)] if self.integer else [self.low, self.high]

    def count(self) -> int | None:
        """How many points the range has on a grid: only a stepped range (or integers) has them."""
        step = self.step if self.step is not None else (1 if self.integer else None)
        if step is None or self.log:
            return None
        return int(math.floor((self.high - self.low) / step + 1e-9)) + 1

    def grid(self) -> list[Scalar]:
        """The range's points (check count() against MAX_GRID first: a tiny step has very many)."""
        count, step = self.count() or 0, self.step if self.step is not None else 1
        points = [self.low + i * step for i in range(min(count, MAX_GRID))]
        return [int(round(p)) for p in points] if self.integer else points


Dimension = Choice | Range


class SpaceRejected(Exception):
    """{field: [message, ...]} for a space, hyperparameters or budget that cannot run (a 400)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.field_errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


def parse_dimension(name: str, raw: Any) -> Dimension:
    if not isinstance(raw, dict):
        raise SpaceRejected({f"space.{name}": ['Give an object: {"values": [...]} or {"low": ..., "high": ...}.']})
    try:
        return Choice.model_validate(raw) if "values" in raw else Range.model_validate(raw)
    except ValidationError as exc:
        messages = [f"{'.'.join(str(p) for p in e['loc']) or 'range'}: {e['msg']}" for e in exc.errors()]
        raise SpaceRejected({f"space.{name}": messages}) from None


def check_space(space: Any, architectures: list[dict[str, Any]], base_hp: dict[str, Any],
                method: str) -> dict[str, Dimension]:  # fmt: skip
    """The parsed space (with ``architecture`` added for several architectures), or SpaceRejected.

    architectures: [{"id", "name", "spec"}]; base_hp: the settings every trial shares.
    """
    if not isinstance(space, dict) or not space and len(architectures) < 2:
        raise SpaceRejected({"space": ["Give at least one setting to vary, e.g. "
                                       '{"learning_rate": {"low": 0.0001, "high": 0.1, "log": true}}.']})  # fmt: skip
    errors: dict[str, list[str]] = {}
    dims: dict[str, Dimension] = {}
    for name, raw in space.items():
        try:
            dims[name] = parse_dimension(str(name), raw)
            errors.update(_name_errors(str(name), dims[name], architectures, base_hp))
        except SpaceRejected as exc:
            errors.update(exc.field_errors)
    if len(architectures) > 1:
        dims[ARCHITECTURE] = Choice(values=[a["id"] for a in architectures])
    if method == "grid" and not errors:
        for name, dim in dims.items():
            if isinstance(dim, Range) and dim.count() is None:
                errors[f"space.{name}"] = ["A grid needs listed values: give values, a step, or integer: true "
                                           "(or use the random or tpe method for a continuous range)."]  # fmt: skip
        if not errors and grid_size(dims) > MAX_GRID:
            errors["space"] = [f"The grid has {grid_size(dims)} points; at most {MAX_GRID}: list fewer values."]
    if errors:
        raise SpaceRejected(errors)
    return dims


def _name_errors(name: str, dim: Dimension, architectures: list[dict[str, Any]],
                 base_hp: dict[str, Any]) -> dict[str, list[str]]:  # fmt: skip
    field = f"space.{name}"
    candidates = dim.values if isinstance(dim, Choice) else dim.ends()
    if name == ARCHITECTURE:
        return {field: ["Choose architectures with the architectures field; the sweep varies them itself."]}
    if name.startswith("layers."):
        return _layer_errors(name, candidates, architectures)
    if name in FIXED or name not in Hyperparameters.model_fields:
        allowed = ", ".join(sorted(set(Hyperparameters.model_fields) - set(FIXED)))
        return {field: [f"Unknown setting {name!r}: vary one of {allowed}, or a layer's parameter as "
                        "layers.<layer id>.<parameter>."]}  # fmt: skip
    for value in candidates:
        try:
            parse_hyperparameters({**base_hp, name: value})
        except ValidationError as exc:
            return {field: [f"{value!r}: {e['msg']}" for e in exc.errors()]}
    return {}


def _layer_errors(name: str, candidates: list[Scalar], architectures: list[dict[str, Any]]) -> dict[str, list[str]]:
    field = f"space.{name}"
    parts = name.split(".")
    if len(parts) != 3:
        return {field: ["Name a layer's parameter as layers.<layer id>.<parameter>, e.g. layers.hidden.units."]}
    _, layer_id, param = parts
    holders = [a for a in architectures if any(layer.get("id") == layer_id for layer in a["spec"].get("layers", []))]
    if not holders:
        ids = sorted({str(layer.get("id")) for a in architectures for layer in a["spec"].get("layers", [])})
        return {field: [f"No layer {layer_id!r} in the chosen architectures; their layers: {', '.join(ids)}."]}
    for arch in holders:
        layer = next(item for item in arch["spec"]["layers"] if item.get("id") == layer_id)
        kind = REGISTRY.get(str(layer.get("type")))
        if kind is None or param not in kind.params_model.model_fields:
            allowed = ", ".join(sorted(kind.params_model.model_fields)) if kind else "none"
            return {field: [f"Layer {layer_id!r} ({layer.get('type')}) has no parameter {param!r}; it has: {allowed}."]}
        for value in candidates:
            report = validate_spec(apply_layer_params(arch["spec"], {name: value}))
            if not report.ok:
                return {field: [f"{value!r} in {arch['name']}: {report.errors[0].message}"]}
    return {}


def apply_layer_params(spec: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the spec with the ``layers.<id>.<parameter>`` settings written into its layers
    (a setting for a layer the spec lacks is left out)."""
    layers = [dict(layer, params=dict(layer.get("params") or {})) for layer in spec.get("layers", [])]
    by_id = {layer.get("id"): layer for layer in layers}
    for name, value in params.items():
        if not name.startswith("layers."):
            continue
        _, layer_id, param = name.split(".", 2)
        if layer_id in by_id:
            by_id[layer_id]["params"][param] = value
    return {**spec, "layers": layers}


def trial_settings(params: dict[str, Any], base_hp: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters of a trial: the shared ones with the trial's own on top."""
    own = {k: v for k, v in params.items() if k in Hyperparameters.model_fields}
    return {**base_hp, **own}


def grid_points(dims: dict[str, Dimension]) -> list[dict[str, Any]]:
    """Every point of the grid, in a fixed order (the first names vary slowest)."""
    names = list(dims)
    values = [d.values if isinstance(d, Choice) else d.grid() for d in dims.values()]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def grid_size(dims: dict[str, Dimension]) -> int:
    size = 1
    for d in dims.values():
        size *= len(d.values) if isinstance(d, Choice) else (d.count() or 0)
    return size


def check_metric(metric: str, task: str) -> str:
    """The direction of a metric that fits the dataset's task; SpaceRejected otherwise."""
    if metric not in METRICS:
        raise SpaceRejected({"metric": [f"Choose one of {', '.join(METRICS)}."]})
    if task == "regression" and metric in CLASSIFICATION_ONLY:
        raise SpaceRejected({"metric": [f"{metric} needs classes; this dataset is a regression: use val_loss, "
                                        "val_mae or val_rmse."]})  # fmt: skip
    if task != "regression" and metric in REGRESSION_ONLY:
        raise SpaceRejected({"metric": [f"{metric} is for a regression; this dataset has classes: use val_loss "
                                        "or val_accuracy."]})  # fmt: skip
    return METRICS[metric]
