"""A predict request's body -> the raw records preprocessing.transform_records takes.

Tables: ``rows`` (a list of objects, column name -> value, as in the uploaded CSV) or ``row``.
Text: ``texts`` (a list of strings) or ``text``. Images: ``images`` (base64 strings, in JSON)
or ``image``, or image files in a multipart body under either name. Every problem is
reported with the field it is in (``rows.3.colour``) and what to send instead.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from django.conf import settings

from builder.datasets import preprocessing
from serving.sessions import LoadedModel

# Per dataset kind: (the batch field, the one-input field, what one input is).
FIELDS = {"tabular": ("rows", "row", "row"), "text": ("texts", "text", "text"), "images": ("images", "image", "image")}
MAX_PROBLEMS = 10


class InputProblems(Exception):
    """Bad inputs: {field: [messages]}, in the order found."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


@dataclass
class Inputs:
    field: str  # the request field they came from, to name in messages
    records: list[Any]
    single: bool  # sent as one input ("row"), not a list ("rows")


def problem(field: str, message: str) -> InputProblems:
    return InputProblems({field: [message]})


def read_inputs(model: LoadedModel, data: Mapping[str, Any], files: Mapping[str, Any] | None = None) -> Inputs:
    kind = model.doc["kind"]
    many, one, what = FIELDS[kind]
    uploads = _uploads(files, many, one) if kind == "images" else []
    given = [key for key in data if key in (many, one)]
    others = sorted(str(key) for key in data if key not in (many, one))
    if others:
        wrong = [k for k in others if k in {f for pair in FIELDS.values() for f in pair[:2]}]
        hint = f" (this model was trained on {kind} data)" if wrong else ""
        raise problem(others[0], f"unknown field{hint}; send {many!r}: a list, or {one!r}: one {what}.")
    if len(given) + bool(uploads) > 1:
        raise problem(many, f"send either {many!r} or {one!r}, not both.")
    if uploads:
        records: list[Any] = [upload.read() for upload in uploads]
        field = many
    elif given:
        field = given[0]
        value = data[field]
        if field == one:
            records = [value]
        elif isinstance(value, list):
            records = value
        else:
            raise problem(many, f"expected a list of {what}s; for one {what}, send {one!r} instead.")
    else:
        raise problem(many, f"this model predicts from {kind} data: send {many!r}: a list, or {one!r}: one {what}.")
    if not records:
        raise problem(field, f"the list is empty; send at least one {what}.")
    limit = settings.LAYERLOOM_PREDICT_MAX_BATCH
    if len(records) > limit:
        raise problem(field, f"{len(records):,} {what}s is over the limit of {limit:,} per request; split the batch.")
    check = {"tabular": _check_rows, "text": _check_texts, "images": _decode_images}[kind]
    return Inputs(field, check(model, field, records, field == one), field == one)


def _uploads(files: Mapping[str, Any] | None, many: str, one: str) -> list[Any]:
    if not files:
        return []
    unknown = sorted(set(files) - {many, one})
    if unknown:
        raise problem(unknown[0], f"unknown file field; send image files as {many!r}.")
    return [*files.getlist(many), *files.getlist(one)] if hasattr(files, "getlist") else list(files.values())


def _name(field: str, index: int, single: bool) -> str:
    return field if single else f"{field}.{index}"


VALUE_TYPES = (str, int, float)
_FINE_TYPES = {str, int, float, type(None)}


def _check_rows(model: LoadedModel, field: str, rows: list[Any], single: bool) -> list[Any]:
    needed = [f["name"] for f in model.doc["features"]]
    wanted, allowed = set(needed), model.columns
    # The common case in one pass of set and type checks; the messages only when it fails.
    if (
        all(type(row) is dict and wanted <= row.keys() <= allowed for row in rows)
        and set(map(type, chain.from_iterable(map(dict.values, rows)))) <= _FINE_TYPES
    ):
        return rows
    problems: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        at = _name(field, index, single)
        if not isinstance(row, Mapping):
            problems[at] = ["expected an object of column name -> value, as a row of the uploaded CSV."]
        else:
            missing = [name for name in needed if name not in row]
            if missing:
                problems[at] = [
                    f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
                    'send every input column (null or "" for a missing value).'
                ]
            for key, value in row.items():
                if key not in model.columns:
                    problems[f"{at}.{key}"] = [
                        f"unknown column; the model's input columns are {', '.join(map(repr, needed))}."
                    ]
                elif value is not None and type(value) not in VALUE_TYPES:
                    problems[f"{at}.{key}"] = [f"expected a number or text, got {type(value).__name__}."]
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise InputProblems(problems)
    return rows


def _check_texts(model: LoadedModel, field: str, texts: list[Any], single: bool) -> list[Any]:
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise problem(_name(field, index, single), f"expected text, got {type(text).__name__}.")
    return texts


def _decode_images(model: LoadedModel, field: str, images: list[Any], single: bool) -> list[Any]:
    out = []
    for index, image in enumerate(images):
        if isinstance(image, bytes):
            out.append(image)
            continue
        at = _name(field, index, single)
        if not isinstance(image, str):
            raise problem(at, "expected an image file's bytes in base64 (or upload the file in a multipart body).")
        text = image.split(",", 1)[1] if image.startswith("data:") and "," in image else image
        try:
            out.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise problem(at, "not valid base64; encode the image file's bytes in base64.") from None
    return out


def transform(model: LoadedModel, inputs: Inputs) -> np.ndarray:
    """The model's input batch, made exactly as training made it; a bad input is named."""
    try:
        return preprocessing.transform_records(model.doc, inputs.records)
    except preprocessing.InputError:
        pass
    # Find which inputs fail, one at a time (only on the error path).
    problems: dict[str, list[str]] = {}
    for index, record in enumerate(inputs.records):
        try:
            preprocessing.transform_records(model.doc, [record])
        except preprocessing.InputError as exc:
            problems[_name(inputs.field, index, inputs.single)] = [str(exc)]
            if len(problems) >= MAX_PROBLEMS:
                break
    raise InputProblems(problems or {inputs.field: ["these inputs cannot be prepared for the model."]})


def unknown_categories(model: LoadedModel, inputs: Inputs) -> list[dict[str, str]]:
    """Table cells whose category training never saw: encoded as unknown, as in training."""
    if model.doc["kind"] != "tabular":
        return []
    notes = []
    for feature in model.doc["features"]:
        if feature["type"] != "categorical":
            continue
        values: Sequence[Any] = [row.get(feature["name"]) for row in inputs.records]
        codes = preprocessing.category_codes(values, feature)
        for index in np.flatnonzero(codes < 0)[:MAX_PROBLEMS]:
            notes.append({
                "field": f"{_name(inputs.field, int(index), inputs.single)}.{feature['name']}",
                "message": f"{str(values[index])[:40]!r} was not in the training data; "
                "it is encoded as an unknown category, as in training.",
            })  # fmt: skip
    return notes
