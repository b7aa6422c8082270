"""Upload options: checked field by field, filled with defaults, stored on the dataset row."""

from __future__ import annotations

import math
from typing import Any

from builder.datasets.errors import OptionsError

KINDS = ("tabular", "images", "text")
COLUMN_TYPES = ("numeric", "categorical", "ignore")

_COMMON = {"split", "seed"}
_BY_KIND = {
    "tabular": {"target_column", "column_types", "encoding", "task"},
    "images": {"image_size", "color_mode"},
    "text": {"text_column", "label_column", "vocab_size", "sequence_length"},
}
DEFAULTS: dict[str, Any] = {
    "split": [0.8, 0.1, 0.1],
    "seed": 0,
    "target_column": None,  # None: the last column
    "column_types": {},
    "encoding": "onehot",
    "task": "",  # "": decided from the target column
    "image_size": None,  # None: the median size of the training images
    "color_mode": None,  # None: grayscale when every image is, else RGB
    "text_column": "text",
    "label_column": "label",
    "vocab_size": 20_000,
    "sequence_length": None,  # None: covers 95% of training texts
}
MAX_IMAGE_SIDE = 1024
MAX_SEQUENCE_LENGTH = 4096


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _column_name(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return None
    return "Give a column name from the file's header."


def validate_options(kind: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Checked options with defaults filled in; raises OptionsError naming each bad field."""
    if kind not in KINDS:
        raise OptionsError({"kind": f"Choose one of: {', '.join(KINDS)}."})
    if options is not None and not isinstance(options, dict):
        raise OptionsError({"options": "Options must be an object."})
    options = dict(options or {})
    allowed = _COMMON | _BY_KIND[kind]
    errors: dict[str, str] = {}
    for key in options:
        if key not in allowed:
            errors[key] = f"Not an option for {kind} data. Options are: {', '.join(sorted(allowed))}."
    out = {key: DEFAULTS[key] for key in sorted(allowed)}
    out.update({key: value for key, value in options.items() if key in allowed and value is not None})

    split = out["split"]
    if (
        not isinstance(split, list | tuple)
        or len(split) != 3
        or not all(isinstance(f, int | float) and not isinstance(f, bool) and math.isfinite(f) for f in split)
    ):
        errors["split"] = "Give three fractions for train, validation and test, e.g. [0.8, 0.1, 0.1]."
    elif min(split) < 0 or split[0] <= 0 or abs(sum(split) - 1.0) > 1e-6:
        errors["split"] = "The fractions must be non-negative, train above 0, and add up to 1."
    else:
        out["split"] = [float(f) for f in split]
    if not _is_int(out["seed"]) or not 0 <= out["seed"] < 2**32:
        errors["seed"] = "The seed must be a whole number from 0 to 4294967295."

    if kind == "tabular":
        if out["target_column"] is not None and (msg := _column_name(out["target_column"])):
            errors["target_column"] = msg
        types = out["column_types"]
        if not isinstance(types, dict) or not all(isinstance(k, str) for k in types):
            errors["column_types"] = 'Give an object of column name -> "numeric", "categorical" or "ignore".'
        elif bad := [k for k, v in types.items() if v not in COLUMN_TYPES]:
            errors["column_types"] = f"Column {bad[0]!r}: the type must be numeric, categorical or ignore."
        if out["encoding"] not in ("onehot", "index"):
            errors["encoding"] = 'Choose "onehot" or "index".'
        if out["task"] not in ("", "classification", "regression"):
            errors["task"] = 'Choose "classification" or "regression", or leave it out to decide from the data.'
    elif kind == "images":
        size = out["image_size"]
        if size is not None:
            if not isinstance(size, list | tuple) or len(size) != 2 or not all(_is_int(v) for v in size):
                errors["image_size"] = "Give [height, width] in pixels, e.g. [64, 64]."
            elif not all(4 <= v <= MAX_IMAGE_SIDE for v in size):
                errors["image_size"] = f"Height and width must be between 4 and {MAX_IMAGE_SIDE} pixels."
            else:
                out["image_size"] = [int(v) for v in size]
        if out["color_mode"] not in (None, "rgb", "grayscale"):
            errors["color_mode"] = 'Choose "rgb" or "grayscale".'
    else:
        for key in ("text_column", "label_column"):
            if msg := _column_name(out[key]):
                errors[key] = msg
        if out["text_column"] == out["label_column"] and "text_column" not in errors:
            errors["label_column"] = "The label column must differ from the text column."
        if not _is_int(out["vocab_size"]) or not 10 <= out["vocab_size"] <= 1_000_000:
            errors["vocab_size"] = "The vocabulary size must be a whole number from 10 to 1,000,000."
        length = out["sequence_length"]
        if length is not None and (not _is_int(length) or not 1 <= length <= MAX_SEQUENCE_LENGTH):
            errors["sequence_length"] = f"The sequence length must be a whole number from 1 to {MAX_SEQUENCE_LENGTH}."
    if errors:
        raise OptionsError(errors)
    return out
