"""JSON fields with object and array types and real examples in the OpenAPI schema.

DRF's JSONField is untyped, so Swagger would show `"string"` and a generated client `Any`.
Each field here is a JSONField (the same parsing and validation) whose schema says what
it holds, with an example taken from the iris demo dataset and a job trained on it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from api.parsers import loads

SPEC_EXAMPLE: dict[str, Any] = {
    "format": 1, "name": "iris-mlp", "input": {"shape": [4]},
    "layers": [
        {"id": "hidden", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
    ],
}  # fmt: skip

OPTIONS_EXAMPLE: dict[str, Any] = {
    "target_column": "species", "column_types": {}, "encoding": "onehot", "task": "", "split": None,
    "seed": 0, "delimiter": None, "file_encoding": None, "decimal": None, "sheet": None,
}  # fmt: skip

PROFILE_EXAMPLE: dict[str, Any] = {
    "kind": "tabular", "rows": 150,
    "columns": [
        {"name": "sepal_length", "type": "numeric", "missing": 0, "distinct": 35, "min": 4.3, "max": 7.9,
         "mean": 5.8433},
        {"name": "petal_width", "type": "numeric", "missing": 0, "distinct": 22, "min": 0.1, "max": 2.5,
         "mean": 1.1993},
    ],
    "target": {"column": "species", "task": "classification", "missing": 0,
               "classes": [{"name": "setosa", "count": 50}, {"name": "versicolor", "count": 50},
                           {"name": "virginica", "count": 50}]},
    "splits": {"train": 120, "val": 15, "test": 15}, "input_width": 4, "notes": [],
    "file": {"format": "csv", "detected": ["encoding", "delimiter", "decimal"], "delimiter": ",",
             "delimiter_name": "comma (,)", "encoding": "utf-8", "encoding_name": "UTF-8", "decimal": ".",
             "decimal_name": "point (.)"},
}  # fmt: skip

EVALUATION_EXAMPLE: dict[str, Any] = {
    "task": "classification", "split": "test", "samples": 15, "loss": 0.21, "accuracy": 0.9333,
    "class_names": ["setosa", "versicolor", "virginica"],
    "confusion_matrix": [[5, 0, 0], [0, 4, 1], [0, 0, 5]],
    "per_class": [{"class": "setosa", "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 5}],
    "worst_misclassified": [{"id": 83, "index": 7, "true": "versicolor", "predicted": "virginica",
                             "confidence": 0.61, "p_true": 0.37}],
    "baselines": {"samples": 15, "train_samples": 120, "metric": "accuracy", "model_worse_than_linear": False,
                  "seconds": 0.04, "notes": [],
                  "models": [{"name": "majority", "label": "the most common class (setosa)", "class": "setosa",
                              "accuracy": 0.3333, "macro_f1": 0.1667, "loss": 1.0986},
                             {"name": "linear", "label": "logistic regression on the standardised inputs",
                              "fitted_on": 120, "accuracy": 0.9333, "macro_f1": 0.9327, "loss": 0.18}]},
}  # fmt: skip


def _object(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": True, "description": description, "example": example}


@extend_schema_field(_object("An architecture spec, format 1 (docs/architecture-format.md).", SPEC_EXAMPLE))
class SpecField(serializers.JSONField):
    pass


@extend_schema_field(_object("Ingestion options (docs/datasets.md); omitted keys take their defaults.",
                             OPTIONS_EXAMPLE))  # fmt: skip
class OptionsField(serializers.JSONField):
    """May arrive as text (a multipart form field): parsed by api.parsers.loads, so any depth is a 400."""

    def to_internal_value(self, data: Any) -> Any:
        if self.binary or getattr(data, "is_json_string", False):
            if isinstance(data, bytes):
                data = data.decode("utf-8", "replace")
            try:
                return loads(data)
            except exceptions.ParseError as exc:
                raise serializers.ValidationError(f"Give a JSON object. {exc.detail}") from None
        return super().to_internal_value(data)


@extend_schema_field(_object("What ingestion found: rows, columns, target, splits.", PROFILE_EXAMPLE))
class ProfileField(serializers.JSONField):
    pass


@extend_schema_field(_object("The test split's evaluation (empty until the job succeeds).", EVALUATION_EXAMPLE))
class EvaluationField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "example": [4],
                      "description": "The shape of one sample (channels last)."})  # fmt: skip
class ShapeField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": {"type": "string"}, "example": ["setosa", "versicolor", "virginica"],
                      "description": "Class names in label order."})  # fmt: skip
class ClassNamesField(serializers.JSONField):
    pass


class StrictCharField(serializers.CharField):
    """A string as the schema says: DRF's CharField would turn the number 0 into "0"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))
