"""Predictions for a job or a named endpoint: the one code path the API and the pages call.

Inputs are prepared with the dataset version's preprocessing.json (builder.datasets.
preprocessing, the module training and the code bundle's predict.py use), run through the
job's ONNX model on ONNX Runtime, and read the way the worker read them at evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat
from typing import Any

import numpy as np

from builder.codegen.scripts.heads import class_probabilities
from builder.datasets.kinds import input_name
from builder.datasets.preprocessing import unscale_target
from serving.inputs import InputProblems, Inputs, input_warnings, read_inputs, transform
from serving.sessions import CACHE, LoadedModel, NotServable
from workers.models import TrainingJob

__all__ = ["InputProblems", "NotServable", "predict"]


def predict(
    job: TrainingJob, data: Mapping[str, Any], files: Mapping[str, Any] | None = None, endpoint: str | None = None
) -> dict[str, Any]:
    """Answer one request: a prediction per input, and which model gave them.

    Raises NotServable (the job has no model to serve) or InputProblems (bad inputs,
    {field: [messages]}).
    """
    model = CACHE.get(job)
    inputs = read_inputs(model, data, files)
    outputs = model.run(transform(model, inputs))
    _refuse_non_finite(outputs, inputs)
    answer = {
        "model": {"job": model.job_id, "framework": model.framework, "artifact": model.artifact_id,
                  "sha256": model.sha256, "endpoint": endpoint},
        **answers(model, outputs),
    }  # fmt: skip
    warnings = input_warnings(model, inputs)
    if warnings:
        answer["warnings"] = warnings
    return answer


def _refuse_non_finite(outputs: np.ndarray, inputs: Inputs) -> None:
    """An output that is not a finite number is a bad input, not a null probability or value."""
    finite = np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1)
    if finite.all():
        return
    message = (
        "the model's output for this input is not a finite number: its values lie too far outside "
        "what the model was trained on."
    )
    raise InputProblems(
        {input_name(inputs.field, int(i), inputs.single): [message] for i in np.nonzero(~finite)[0][:10]}
    )


def answers(model: LoadedModel, outputs: np.ndarray) -> dict[str, Any]:
    """Classification: the label, its probability and every class's; regression: the value."""
    doc = model.doc
    if doc.get("task") == "regression":
        values = unscale_target(doc, outputs).reshape(len(outputs), -1)
        if values.shape[1] == 1:
            return {"task": "regression", "predictions": [{"value": float(v)} for v in values[:, 0]]}
        return {"task": "regression", "predictions": [{"values": row} for row in values.tolist()]}
    names = [str(n) for n in doc.get("class_names") or []]
    probs = class_probabilities(outputs, model.head)
    if len(names) != probs.shape[1]:
        names = [str(i) for i in range(probs.shape[1])]
    best = probs.argmax(axis=1).tolist()
    rows = probs.tolist()
    every = map(dict, map(zip, repeat(names), rows))  # class name -> probability, per input
    predictions = [
        {"label": names[b], "class_index": b, "probability": row[b], "probabilities": each}
        for b, row, each in zip(best, rows, every, strict=True)
    ]
    return {"task": "classification", "class_names": names, "predictions": predictions}
