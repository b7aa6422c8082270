"""The test examples behind one cell of a finished job's confusion matrix, for the job page.

Read in the web process from what the job left: the predictions its evaluation saved
(workers/training/evaluation.py, `predictions.npz`), the dataset version's test split, and
the stored upload. No model is loaded. What each example shows is the dataset kind's
(DatasetKind.describe_examples): the original table row or text, or for images a small PNG
data URL drawn from the test split's own pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from builder.datasets.arrays import load_ids, load_split
from builder.datasets.kinds import get_kind
from builder.datasets.storage import stored_source
from webapp import filestore
from workers.models import TrainingJob

MAX_EXAMPLES = 50


class NoExamples(Exception):
    """Why a cell's examples cannot be listed, for a person."""


def predictions_path(job: TrainingJob) -> Path:
    from workers.training.evaluation import PREDICTIONS_FILE

    path = job.job_dir / "evaluation" / PREDICTIONS_FILE
    try:
        return filestore.local_file(filestore.key_of(path))
    except FileNotFoundError:
        return path


def cell_examples(job: TrainingJob, true: int, predicted: int, limit: int = MAX_EXAMPLES) -> dict[str, Any]:
    """{"true", "predicted", "count", "kind", "examples": [...]}, most confident first."""
    names = (job.evaluation or {}).get("class_names") or []
    if (job.evaluation or {}).get("task") != "classification" or not names:
        raise NoExamples("Only a finished classification job has a confusion matrix.")
    for label, value in (("true", true), ("pred", predicted)):
        if not 0 <= value < len(names):
            raise NoExamples(f"{label} must be a class index from 0 to {len(names) - 1}.")
    path = predictions_path(job)
    if not path.is_file():
        raise NoExamples("This job's evaluation kept no per-example predictions (it ran before they were kept).")
    saved = np.load(path)
    _, y = load_split(job.dataset_dir, "test", mmap=True)
    pred, confidence = saved["predicted"], saved["confidence"]
    if len(pred) != len(y):
        raise NoExamples("The dataset's test split changed since the job ran.")
    rows = np.flatnonzero((np.asarray(y) == true) & (pred == predicted))
    rows = rows[np.argsort(-confidence[rows], kind="stable")][:limit]
    ids = load_ids(job.dataset_dir, "test")
    kind = get_kind(job.dataset.kind)
    examples = [{"index": int(i), "id": int(ids[i]), "confidence": float(confidence[i])} for i in rows]
    source = stored_source(job.dataset)
    kind.describe_examples(examples, source, lambda: load_split(job.dataset_dir, "test", mmap=True)[0])
    count = int(((np.asarray(y) == true) & (pred == predicted)).sum())
    return {"available": True, "reason": "", "true": names[true], "predicted": names[predicted], "kind": kind.name,
            "unit": kind.example_unit, "count": count, "examples": examples}  # fmt: skip
