"""Admission: a job whose memory estimate cannot fit, or whose files would pass its owner's
storage quota, is refused at submission, not killed or cleaned up later.

The estimate is the spec report's (weights, gradients, optimizer moments and one batch of
activations at the job's batch size) plus the dataset version's arrays, which the job
loads into memory. The limit is LAYERLOOM_JOB_MEMORY_LIMIT_MB when set (the same cap the
job's process runs under), otherwise this machine's physical memory.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any

from django.conf import settings

from builder.datasets.limits import human_bytes
from builder.limits import spec_limits
from builder.models import Dataset
from builder.spec import validate_spec
from builder.usage import over_quota_message
from webapp import filestore

MiB = 1024**2
# What a job writes, in copies of its float32 weights (about ten, rounded up): the checkpoint
# (weights, two optimizer moments, the best epoch's weights), the two native model files, ONNX,
# TFLite or TorchScript, and the code bundle's weights. FILES_FIXED_BYTES is what does not grow
# with the model (logs, TensorBoard events, test predictions, scripts, graphs): 36-61 KB for the
# small models of tests/workers/test_train_end_to_end.py, which checks each against the estimate.
WEIGHT_COPIES = 12
FILES_FIXED_BYTES = 1 * MiB


def memory_limit_bytes() -> tuple[int, str]:
    """The limit and where it comes from, for the message."""
    configured = int(settings.LAYERLOOM_JOB_MEMORY_LIMIT_MB or 0)
    if configured > 0:
        return configured * MiB, "LAYERLOOM_JOB_MEMORY_LIMIT_MB"
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's memory"


def dataset_bytes(dataset: Dataset, version: int) -> int:
    folder = dataset.data_dir / f"v{version}"
    if not filestore.is_local():  # sizes from the store's listing: nothing is downloaded
        return sum(e.size for e in filestore.list_prefix(filestore.key_of(folder))
                   if fnmatch.fnmatch(e.name, "[Xy]_*.npy"))  # fmt: skip
    return sum(p.stat().st_size for p in folder.glob("[Xy]_*.npy")) if folder.is_dir() else 0


def memory_errors(spec: dict[str, Any], batch_size: int, dataset: Dataset) -> dict[str, list[str]]:
    report = validate_spec(spec, limits=spec_limits(), batch_size=batch_size)
    if not report.ok:
        return {}  # the spec's own errors are reported by the compatibility check
    model, data = report.memory_estimate_bytes, dataset_bytes(dataset, dataset.version)
    limit, source = memory_limit_bytes()
    if model + data <= limit:
        return {}
    return {
        "memory": [
            f"This job needs an estimated {human_bytes(model + data)} of memory (the model at batch size "
            f"{batch_size}: {human_bytes(model)}; the dataset's arrays: {human_bytes(data)}), more than the "
            f"{human_bytes(limit)} limit ({source}). Use a smaller batch size or a smaller model "
            "(fewer filters or units, or downsampling earlier)."
        ]
    }


def expected_job_bytes(spec: dict[str, Any]) -> int:
    """An upper estimate of the bytes a job of this spec writes (checkpoint and every artifact)."""
    report = validate_spec(spec, limits=spec_limits())
    return FILES_FIXED_BYTES + WEIGHT_COPIES * 4 * (report.total_params if report.ok else 0)


def quota_errors(owner: Any, spec: dict[str, Any]) -> dict[str, list[str]]:
    """The storage quota counts what the job will write: refused when its files would pass it."""
    message = over_quota_message(
        owner, expected_job_bytes(spec), "This job (its checkpoint and model files, estimated)"
    )
    return {"quota": [message]} if message else {}
