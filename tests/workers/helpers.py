"""Tiny materialised datasets (the documented .npy layout), specs and job helpers.

Written directly with numpy so these tests do not depend on the ingestion pipeline.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from builder.datasets.preprocessing import fit_target_scaling
from builder.models import Dataset
from workers.models import TrainingJob

# The device the suite's jobs ask for: cpu here; scripts/gpu_check.sh runs a selection with cuda.
DEVICE = os.environ.get("LAYERLOOM_TEST_DEVICE", "cpu")


def ran_on_the_test_device(job: TrainingJob) -> bool:
    """The job's recorded device is the one the suite asked for ("CPU", or "GPU: <name>")."""
    return job.device_name == "CPU" if DEVICE == "cpu" else job.device_name.startswith("GPU: ")


SPECS: dict[str, dict[str, Any]] = {
    "tabular": {
        "format": 1, "name": "tiny-mlp", "input": {"shape": [6]},
        "layers": [
            {"id": "h", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
            {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}},
        ],
    },
    "regression": {
        "format": 1, "name": "tiny-reg", "input": {"shape": [6]},
        "layers": [
            {"id": "h", "type": "Dense", "params": {"units": 16, "activation": "relu"}},
            {"id": "out", "type": "Dense", "params": {"units": 1}},
        ],
    },
    "images": {
        "format": 1, "name": "tiny-cnn", "input": {"shape": [8, 8, 1]},
        "layers": [
            {"id": "conv", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3, "activation": "relu"}},
            {"id": "pool", "type": "MaxPooling2D", "params": {"pool_size": 2}},
            {"id": "flat", "type": "Flatten"},
            {"id": "out", "type": "Dense", "params": {"units": 2, "activation": "softmax"}},
        ],
    },
    "text": {
        "format": 1, "name": "tiny-text", "input": {"shape": [12]},
        "layers": [
            {"id": "embed", "type": "Embedding", "params": {"input_dim": 50, "output_dim": 8}},
            {"id": "gap", "type": "GlobalAveragePooling1D"},
            {"id": "out", "type": "Dense", "params": {"units": 2, "activation": "softmax"}},
        ],
    },
}  # fmt: skip

KIND_OF = {"tabular": "tabular", "regression": "tabular", "images": "images", "text": "text"}


def arrays(kind: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Learnable synthetic data: the label depends on the inputs."""
    rng = np.random.default_rng(seed)
    if kind == "images":
        X = rng.normal(size=(n, 8, 8, 1)).astype(np.float32)
        y = (X[:, :4].mean(axis=(1, 2, 3)) > X[:, 4:].mean(axis=(1, 2, 3))).astype(np.int64)
        X[y == 1, :2] += 1.0
        return X, y
    if kind == "text":
        X = rng.integers(1, 50, size=(n, 12)).astype(np.int32)
        y = (X < 25).sum(axis=1) > 6
        return X, y.astype(np.int64)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    if kind == "regression":  # a target far from 0 with a wide spread, as prices are
        return X, (300 + 40 * X @ np.arange(1, 7, dtype=np.float32) / 6).astype(np.float32)
    return X, np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5]).astype(np.int64)


def make_dataset(owner: Any, kind: str = "tabular", n: int = 240, seed: int = 0) -> Dataset:
    """A READY dataset with train/val/test splits (60/20/20) materialised under its version dir."""
    task = "regression" if kind == "regression" else "classification"
    classes = {"tabular": ["low", "=mid", "high"], "images": ["cats", "dogs"], "text": ["neg", "pos"]}.get(kind, [])
    X, y = arrays(kind, n, seed)
    ds = Dataset.objects.create(
        owner=owner, name=f"tiny {kind}", kind=KIND_OF[kind], status=Dataset.Status.READY, sha256="0" * 64,
        task=task, input_shape=list(X.shape[1:]), num_classes=len(classes) or None, class_names=classes,
    )  # fmt: skip
    folder = ds.version_dir
    folder.mkdir(parents=True, exist_ok=True)
    cuts = {"train": (0, int(n * 0.6)), "val": (int(n * 0.6), int(n * 0.8)), "test": (int(n * 0.8), n)}
    for split, (a, b) in cuts.items():
        np.save(folder / f"X_{split}.npy", X[a:b])
        np.save(folder / f"y_{split}.npy", y[a:b])
        np.save(folder / f"ids_{split}.npy", np.arange(a, b, dtype=np.int64) + 1000)
    doc: dict[str, Any] = {"format": 1, "kind": KIND_OF[kind], "task": task, "steps": []}
    if task == "regression":  # as ingestion records it: fitted on the training rows
        doc["target_scaling"] = fit_target_scaling(y[: cuts["train"][1]])
    (folder / "preprocessing.json").write_text(json.dumps(doc))
    return ds


def wait_for(predicate: Callable[[], Any], timeout: float = 120, interval: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def wait_status(job: TrainingJob, *statuses: str, timeout: float = 180, worker: Any = None) -> TrainingJob:
    def done() -> bool:
        job.refresh_from_db()
        return job.status in statuses

    try:
        wait_for(done, timeout, what=f"job {job.pk} to be {statuses}")
    except AssertionError:
        log = worker.log()[-6000:] if worker is not None else ""
        raise AssertionError(f"job {job.pk} is {job.status} ({job.error}), wanted {statuses}\n{log}") from None
    return job


def hp(**overrides: Any) -> dict[str, Any]:
    # A fixed number of epochs (no early stopping): these jobs are about how a job runs.
    base = {"epochs": 2, "batch_size": 16, "learning_rate": 0.01, "seed": 1, "device": DEVICE, "patience": None}
    base.update(overrides)
    return base
