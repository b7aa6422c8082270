"""The contract every framework's backend keeps; runner.py, dryrun.py and export.py ask only it.

A backend is made for one job (or one dry run): making it sets up the device, the seeds and
the threads. It builds the model from the generated module, trains it in the framework's own
fastest loop (calling bookkeeping.EpochBook around every epoch, so the metric rows,
checkpoints, early stopping, schedule, cancel checks and progress are the same code for
every framework), predicts, and times the dry run's steps. Exporting is a class method: it
needs the trained model, not a job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from builder.codegen.frameworks import Framework
from builder.codegen.guard import load_module
from workers.training.context import JobContext, Split
from workers.training.reporter import Reporter

# What a native export hands back: (kind, path) of each file, the weights file for the code
# bundle, the float32 CPU model's outputs on the sample, and the ONNX exporter's name.
NativeExport = tuple[list[tuple[str, Path]], Path, np.ndarray, str]


class Backend(ABC):
    framework: ClassVar[Framework]

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.device_name = self.setup_device()

    @classmethod
    def preload(cls) -> None:
        """In a standby process, before any job: pay the framework's first-use costs (the
        import is done already: it came with this module)."""
        return None  # most frameworks have nothing more to warm up

    @abstractmethod
    def setup_device(self) -> str:
        """Pick the device, seed everything, set the thread pools; the device's name for the job page."""

    def generated_module(self) -> Any:
        """The job's generated module, kept beside the job (what the person downloads is what ran)."""
        source = self.framework.generate(self.ctx.spec)
        (self.ctx.job_dir / self.framework.job_source).write_text(source)
        return load_module(source, f"layerloom_job_{self.ctx.job_id}")

    @abstractmethod
    def build(self) -> Any:
        """The model from the generated module, on the device, ready to train."""

    @abstractmethod
    def train(self, train: Split, val: Split, reporter: Reporter) -> tuple[Any, int]:
        """Train (resuming from the job's checkpoint); the model and the epoch it resumed from."""

    @abstractmethod
    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        """Model outputs for X, float64, in batches of the inference batch size."""

    def exportable(self, model: Any) -> Any:
        """The trained model as export_native takes it."""
        return model

    @abstractmethod
    def timed_steps(self, head: Split) -> tuple[list[float], int | None]:
        """The dry run: one training step per batch of `head`, each timed (seconds); the device's
        peak memory in bytes on a GPU, None on the CPU."""

    @classmethod
    @abstractmethod
    def export_native(cls, model: Any, source: str, spec: dict[str, Any], sample: np.ndarray, out_dir: Path,
                      work: Path) -> NativeExport:  # fmt: skip
        """The framework's own files and ONNX (out_dir/model.onnx), each checked against a fresh
        float32 CPU copy of the trained model (export.py has the rest)."""
