"""Hyperparameters of a training job: the one place they are validated.

Pure Python (pydantic), so the API, the admin, the shell command and the worker all read
the same rules and the same messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Optimizer = Literal["sgd", "adam", "adamw", "rmsprop"]
# "auto" picks from the dataset's task: sparse categorical cross-entropy or mean squared error.
Loss = Literal["auto", "sparse_categorical_crossentropy", "binary_crossentropy", "mse", "mae", "huber"]
Device = Literal["auto", "cpu", "cuda"]
LrSchedule = Literal["none", "reduce_on_plateau", "cosine"]
ClassWeight = Literal["none", "balanced"]
CLASSIFICATION_LOSSES = {"sparse_categorical_crossentropy", "binary_crossentropy"}
REGRESSION_LOSSES = {"mse", "mae", "huber"}


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    optimizer: Optimizer = Field("adam", description="Optimizer.")
    # The defaults train a preset fitted to a small table, text or image set to a good model
    # untuned: many epochs, bounded by early stopping that keeps the best epoch's weights.
    learning_rate: float = Field(3e-3, gt=0, le=10, description="Learning rate.")
    batch_size: int = Field(32, ge=1, le=65536, description="Samples per batch.")
    epochs: int = Field(200, ge=1, le=10000, description="Most epochs to train (early stopping may end sooner).")
    loss: Loss = Field("auto", description="Loss; auto chooses from the dataset's task.")
    patience: int | None = Field(
        15, ge=1, le=1000, description="Stop early after this many epochs without a better validation loss (null: never)."
    )
    restore_best_weights: bool = Field(
        True, description="With early stopping: end with the weights of the epoch with the best validation loss."
    )
    lr_schedule: LrSchedule = Field(
        "reduce_on_plateau",
        description="Learning rate per epoch: none (constant), reduce_on_plateau (halved after 5 epochs without "
        "a better validation loss) or cosine (from the learning rate down to 0 over the epochs).",
    )
    class_weight: ClassWeight = Field(
        "none", description="balanced: weigh each class's loss by rows / (classes x rows of that class) in training."
    )
    clipnorm: float | None = Field(
        None, gt=0, le=1e6, description="Scale all gradients down together so their global norm is at most this."
    )
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="Classification: spread this much of each target over all classes."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Random seed (weights, shuffling, dropout).")
    device: Device = Field("auto", description="auto uses a GPU when the worker has one.")
    mixed_precision: bool = Field(False, description="float16 compute on a GPU; ignored on the CPU.")

    @property
    def inference_batch_size(self) -> int:
        """Batches for validation, evaluation and prediction, in both frameworks: forward passes
        only, so batches larger than training's cost less per row."""
        return max(self.batch_size, 256)

    def resolved_loss(self, task: str, units: int = 2) -> str:
        """The loss to train with: binary cross-entropy for one output unit (a probability or a
        logit of the second class), sparse categorical for one unit per class (builder/codegen/
        scripts/heads.py reads the output the same way)."""
        if self.loss != "auto":
            return self.loss
        if task == "regression":
            return "mse"
        return "binary_crossentropy" if units == 1 else "sparse_categorical_crossentropy"


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """pydantic's errors as {field: [message, ...]}, the shape JobRejected carries."""
    out: dict[str, list[str]] = {}
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "hyperparameters"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"Unknown hyperparameter; allowed: {', '.join(sorted(Hyperparameters.model_fields))}."
        out.setdefault(loc, []).append(message)
    return out


def parse_hyperparameters(data: dict[str, Any] | None) -> Hyperparameters:
    """Validate (raising pydantic's ValidationError) and fill defaults."""
    return Hyperparameters.model_validate(data or {})


def loss_errors(hp: Hyperparameters, task: str) -> list[str]:
    """A loss that does not fit the dataset's task, explained."""
    if hp.loss == "auto":
        return []
    if task == "regression" and hp.loss in CLASSIFICATION_LOSSES:
        return [f"{hp.loss} needs class labels; this dataset is a regression: use mse, mae or huber."]
    if task == "classification" and hp.loss in REGRESSION_LOSSES:
        return [f"{hp.loss} is a regression loss; this dataset has classes: use sparse_categorical_crossentropy."]
    return []


def task_errors(hp: Hyperparameters, task: str) -> dict[str, list[str]]:
    """Every setting that does not fit the dataset's task, under its own name."""
    errors: dict[str, list[str]] = {}
    if loss := loss_errors(hp, task):
        errors["loss"] = loss
    if task == "regression" and hp.class_weight != "none":
        errors["class_weight"] = ["class_weight needs classes; this dataset is a regression: leave it at none."]
    if task == "regression" and hp.label_smoothing:
        errors["label_smoothing"] = ["label_smoothing is for classification; this dataset is a regression: use 0."]
    return errors
