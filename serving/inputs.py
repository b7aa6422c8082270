"""A predict request's body -> the raw records the dataset kind's transform takes.

The kind names the fields (DatasetKind.predict_fields): tables ``rows`` (a list of objects,
column name -> value, as in the uploaded CSV) or ``row``; text ``texts`` or ``text``; images
``images`` (base64 strings, in JSON) or ``image``, or files in a multipart body under either
name (kinds that accept_files). Every problem is reported with the field it is in
(``rows.3.colour``) and what to send instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

from builder.datasets import preprocessing
from builder.datasets.kinds import InputProblems, all_kinds, input_name, kind_of, transform_records
from builder.datasets.limits import human_bytes
from serving.sessions import LoadedModel

__all__ = ["InputProblems", "Inputs", "input_warnings", "problem", "read_inputs", "transform"]
MAX_PROBLEMS = 10


@dataclass
class Inputs:
    field: str  # the request field they came from, to name in messages
    records: list[Any]
    single: bool  # sent as one input ("row"), not a list ("rows")


def problem(field: str, message: str) -> InputProblems:
    return InputProblems({field: [message]})


def read_inputs(model: LoadedModel, data: Mapping[str, Any], files: Mapping[str, Any] | None = None) -> Inputs:
    kind = kind_of(model.doc)
    many, one, what = kind.predict_fields.many, kind.predict_fields.one, kind.predict_fields.what
    uploads = _uploads(files, many, one, what) if kind.accepts_files else []
    given = [key for key in data if key in (many, one)]
    others = sorted(str(key) for key in data if key not in (many, one))
    if others:
        known = {name for k in all_kinds() for name in (k.predict_fields.many, k.predict_fields.one)}
        wrong = [k for k in others if k in known]
        hint = f" (this model was trained on {kind.name} data)" if wrong else ""
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
        raise problem(
            many, f"this model predicts from {kind.name} data: send {many!r}: a list, or {one!r}: one {what}."
        )
    if not records:
        raise problem(field, f"the list is empty; send at least one {what}.")
    limit = settings.LAYERLOOM_PREDICT_MAX_BATCH
    if len(records) > limit:
        raise problem(field, f"{len(records):,} {what}s is over the limit of {limit:,} per request; split the batch.")
    _check_batch_memory(model, field, len(records), what)
    parsed = kind.parse_inputs(model, field, records, field == one)
    if kind.input_is_image:
        _check_pixels(field, parsed, what)
    return Inputs(field, parsed, field == one)


def _check_pixels(field: str, images: list[Any], what: str) -> None:
    """Refuse a request whose images hold more pixels together than LAYERLOOM_PREDICT_MAX_PIXELS,
    read from their headers before any is decoded: each under the per-image cap, ten large ones
    still took gigabytes to decode."""
    total = sum(preprocessing.image_pixels(data) for data in images)
    limit = settings.LAYERLOOM_PREDICT_MAX_PIXELS
    if total > limit:
        raise problem(
            field,
            f"these {len(images):,} {what}s hold {total:,} pixels together, over the limit of {limit:,} per request "
            f"(LAYERLOOM_PREDICT_MAX_PIXELS); send fewer {what}s per request, or smaller ones.",
        )


def _check_batch_memory(model: LoadedModel, field: str, count: int, what: str) -> None:
    """Refuse a batch whose activations would pass LAYERLOOM_PREDICT_MEMORY_MB, before any input is
    decoded: the model's size says nothing of what a batch puts through it."""
    bound = settings.LAYERLOOM_PREDICT_MEMORY_MB * 1024**2
    if count * model.sample_bytes <= bound:
        return
    need, each, limit = human_bytes(count * model.sample_bytes), human_bytes(model.sample_bytes), human_bytes(bound)
    fits = bound // model.sample_bytes
    advice = (f"send at most {fits:,} {what}s per request." if fits else
              f"one {what} alone is over it: this model is too large to serve here.")  # fmt: skip
    raise problem(
        field,
        f"{count:,} {what}s need an estimated {need} to run through this model ({each} each), over the limit "
        f"of {limit} per request (LAYERLOOM_PREDICT_MEMORY_MB); {advice}",
    )


def _uploads(files: Mapping[str, Any] | None, many: str, one: str, what: str) -> list[Any]:
    if not files:
        return []
    unknown = sorted(set(files) - {many, one})
    if unknown:
        raise problem(unknown[0], f"unknown file field; send {what} files as {many!r}.")
    return [*files.getlist(many), *files.getlist(one)] if hasattr(files, "getlist") else list(files.values())


def transform(model: LoadedModel, inputs: Inputs) -> np.ndarray:
    """The model's input batch, made exactly as training made it; a bad input is named."""
    try:
        return transform_records(model.doc, inputs.records)
    except preprocessing.InputError:
        pass
    # Find which inputs fail, one at a time (only on the error path).
    problems: dict[str, list[str]] = {}
    for index, record in enumerate(inputs.records):
        try:
            transform_records(model.doc, [record])
        except preprocessing.InputError as exc:
            problems[input_name(inputs.field, index, inputs.single)] = [str(exc)]
            if len(problems) >= MAX_PROBLEMS:
                break
    raise InputProblems(problems or {inputs.field: ["these inputs cannot be prepared for the model."]})


def input_warnings(model: LoadedModel, inputs: Inputs) -> list[dict[str, str]]:
    """Warnings on inputs that were answered all the same, as the kind gives them: a category
    training never saw, a number far outside the training data's range."""
    kind = kind_of(model.doc)

    def name(index: int) -> str:
        return input_name(inputs.field, index, inputs.single)

    return [
        *kind.input_notes(model.doc, inputs.records, name),
        *kind.input_warnings(model.ranges, inputs.records, name),
    ]
