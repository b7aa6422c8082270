"""Everything a framework runner needs about one job, read once from the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.codegen.scripts import output_kind
from builder.datasets.arrays import load_split
from builder.spec import resolve
from workers.models import TrainingJob
from workers.training import checkpoints
from workers.training.hyperparameters import Hyperparameters, parse_hyperparameters


class JobError(Exception):
    """A failure with a message written for the person who submitted the job."""


@dataclass
class Split:
    X: np.ndarray
    y: np.ndarray
    ids: np.ndarray | None


@dataclass
class JobContext:
    job_id: int
    framework: str
    spec: dict[str, Any]
    hp: Hyperparameters
    task: str  # "classification" | "regression"
    class_names: list[str]
    output_kind: str  # "softmax" | "sigmoid" | "linear"
    loss: str
    input_dtype: str
    dataset_dir: Path
    job_dir: Path
    checkpoint_owner: dict[str, Any]  # checkpoints.owner_of(job): a job resumes only its own checkpoints

    @classmethod
    def from_job(cls, job: TrainingJob) -> JobContext:
        hp = parse_hyperparameters(job.hyperparameters)
        resolved = resolve(job.spec)
        kind = output_kind(resolved)
        task = job.dataset.task or "classification"
        return cls(
            job_id=job.pk, framework=job.framework, spec=job.spec, hp=hp, task=task,
            class_names=[str(c) for c in job.dataset.class_names or []], output_kind=kind,
            loss=hp.resolved_loss(task, kind), input_dtype=resolved.input_dtype,
            dataset_dir=job.dataset_dir, job_dir=job.job_dir, checkpoint_owner=checkpoints.owner_of(job),
        )  # fmt: skip

    @property
    def checkpoint_dir(self) -> Path:
        return self.job_dir / "checkpoint"

    @property
    def artifacts_dir(self) -> Path:
        return self.job_dir / "artifacts"

    @property
    def tensorboard_dir(self) -> Path:
        return self.job_dir / "tensorboard"

    @property
    def classification(self) -> bool:
        return self.task != "regression"

    def split(self, name: str) -> Split:
        """A split loaded into memory, inputs in the dtype the model expects."""
        if not (self.dataset_dir / f"X_{name}.npy").exists():
            raise JobError(f"The dataset's {name} split is missing ({self.dataset_dir}); re-ingest the dataset.")
        X, y = load_split(self.dataset_dir, name, mmap=True)
        x_dtype = np.int64 if self.input_dtype.startswith("int") else np.float32
        y_dtype = np.int64 if self.classification and self.output_kind != "sigmoid" else np.float32
        ids_path = self.dataset_dir / f"ids_{name}.npy"
        ids = np.load(ids_path) if ids_path.exists() else None
        # A private in-memory copy: the mmap is read-only and the frameworks want writable arrays.
        return Split(np.array(X, dtype=x_dtype), np.array(y, dtype=y_dtype), ids)

    def preprocessing(self) -> dict[str, Any]:
        path = self.dataset_dir / "preprocessing.json"
        return json.loads(path.read_text()) if path.exists() else {}
