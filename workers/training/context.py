"""Everything a framework runner needs about one job, read once from the database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from builder.codegen.scripts import output_kind, output_units
from builder.codegen.scripts.schedules import balanced_class_weights
from builder.datasets.arrays import load_split
from builder.datasets.preprocessing import scale_target, target_scaling, unscale_target
from builder.spec import resolve
from workers.hyperparameters import Hyperparameters, parse_hyperparameters
from workers.models import TrainingJob
from workers.training import checkpoints


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
    output_kind: str  # "softmax" | "sigmoid" | "linear": builder/codegen/scripts/heads.py
    loss: str
    input_dtype: str
    dataset_dir: Path
    job_dir: Path
    checkpoint_owner: dict[str, Any]  # checkpoints.owner_of(job): a job resumes only its own checkpoints
    _preprocessing: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def from_job(cls, job: TrainingJob) -> JobContext:
        hp = parse_hyperparameters(job.hyperparameters)
        resolved = resolve(job.spec)
        kind = output_kind(resolved)
        task = job.dataset.task or "classification"
        return cls(
            job_id=job.pk, framework=job.framework, spec=job.spec, hp=hp, task=task,
            class_names=[str(c) for c in job.dataset.class_names or []], output_kind=kind,
            loss=hp.resolved_loss(task, output_units(resolved)), input_dtype=resolved.input_dtype,
            dataset_dir=job.dataset.stored_version_dir(job.dataset_version, pin=True),  # kept while the job runs
            job_dir=job.job_dir, checkpoint_owner=checkpoints.owner_of(job),
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

    def split(self, name: str, scaled: bool = False) -> Split:
        """A split loaded into memory, inputs in the dtype the model expects.

        scaled: a regression target standardised as the model learns it (training and
        validation); otherwise in the target's own units (the test split's evaluation).
        """
        if not (self.dataset_dir / f"X_{name}.npy").exists():
            raise JobError(f"The dataset's {name} split is missing ({self.dataset_dir}); re-ingest the dataset.")
        X, y = load_split(self.dataset_dir, name, mmap=True)
        x_dtype = np.int64 if self.input_dtype.startswith("int") else np.float32
        # Class indices for a categorical loss; 0.0 / 1.0 for a binary one (one output unit).
        y_dtype = np.int64 if self.classification and self.loss != "binary_crossentropy" else np.float32
        ids_path = self.dataset_dir / f"ids_{name}.npy"
        ids = np.load(ids_path) if ids_path.exists() else None
        # A private in-memory copy: the mmap is read-only and the frameworks want writable arrays.
        if scaled and not self.classification:
            return Split(np.array(X, dtype=x_dtype), scale_target(self.preprocessing(), y), ids)
        return Split(np.array(X, dtype=x_dtype), np.array(y, dtype=y_dtype), ids)

    def class_weights(self, train_y: np.ndarray) -> list[float] | None:
        """class_weight "balanced": one weight per class from the training labels; None otherwise."""
        if self.hp.class_weight == "none" or not self.classification:
            return None
        n_classes = max(2, len(self.class_names), int(train_y.max(initial=0)) + 1)
        return balanced_class_weights(train_y, n_classes)

    def target_units(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs as predictions a person reads: regression values back in the target's units."""
        return outputs if self.classification else unscale_target(self.preprocessing(), outputs)

    def epoch_in_target_units(self, values: dict[str, float], train_y: np.ndarray, val_y: np.ndarray) -> None:
        """An epoch's regression metrics (computed on the standardised target) in the target's units.

        MAE and RMSE scale with the standard deviation; R² (1 - MSE / variance of the
        standardised y of that split) is the same in either unit. The loss stays the
        training objective, on the standardised target.
        """
        if self.classification:
            return
        std = target_scaling(self.preprocessing())[1]
        for prefix, y in (("", train_y), ("val_", val_y)):
            if f"{prefix}rmse" not in values:
                continue
            variance = float(np.var(y)) if len(y) else 0.0
            if variance > 0:
                values[f"{prefix}r2"] = 1.0 - values[f"{prefix}rmse"] ** 2 / variance
            values[f"{prefix}mae"] *= std
            values[f"{prefix}rmse"] *= std

    def preprocessing(self) -> dict[str, Any]:
        if self._preprocessing is None:
            path = self.dataset_dir / "preprocessing.json"
            self._preprocessing = json.loads(path.read_text()) if path.exists() else {}
        return self._preprocessing
