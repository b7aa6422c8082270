"""Artifact files of a job and their rows: metrics.csv, the TensorBoard logs, the thumbnails of
the worst-misclassified test images (image datasets), the exports.

Files are written under LAYERLOOM_DATA_ROOT/jobs/<id>/artifacts/ and stored in the file store
(webapp.filestore) under the same key before their row is written; each has an Artifact row
with its size and sha256, so a download can be checked.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from builder.datasets.arrays import load_split
from webapp import filestore
from workers.models import Artifact, Metric, TrainingJob
from workers.training import thumbnails
from workers.training.context import JobContext, JobError
from workers.training.csvexport import write_metrics_csv
from workers.training.predictions import write_test_predictions

log = logging.getLogger(__name__)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(job_id: int, kind: str, path: Path, size: int | None = None, sha256: str | None = None) -> Artifact:
    key = filestore.push_file(path)
    artifact, _ = Artifact.objects.update_or_create(
        job_id=job_id, filename=path.name,
        defaults={"kind": kind, "path": key, "size_bytes": size if size is not None else path.stat().st_size,
                  "sha256": sha256 or sha256_of(path)},
    )  # fmt: skip
    return artifact


def record_logs(job_id: int, ctx: JobContext) -> None:
    """metrics.csv, a zip of the TensorBoard run (also for a cancelled job: its partial logs) and,
    once the evaluation is saved, the thumbnails of its worst-misclassified images."""
    ctx.artifacts_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"epoch": m.epoch, "step": m.step, **m.values} for m in Metric.objects.filter(job_id=job_id)]
    record(job_id, "metrics_csv", write_metrics_csv(ctx.artifacts_dir / "metrics.csv", rows))
    archive = ctx.artifacts_dir / "tensorboard.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(ctx.tensorboard_dir.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(ctx.tensorboard_dir))  # unpacks to the job's own folder
    record(job_id, "tensorboard", archive)
    try:
        record_thumbnails(job_id, ctx)
    except Exception:  # noqa: BLE001 - a missing picture must not fail a trained job
        log.warning("job %s: thumbnails of the misclassified examples not written", job_id, exc_info=True)


def record_thumbnails(job_id: int, ctx: JobContext) -> int:
    """A PNG artifact per worst-misclassified test image, named in its evaluation entry.

    Each entry of `evaluation["worst_misclassified"]` gains "thumbnail": {"artifact_id",
    "filename", "width", "height"}; the file downloads from the job's artifact endpoint.
    Nothing happens for tables and text, or before the evaluation exists (a cancelled job).
    Returns the number of thumbnails written.
    """
    evaluation = TrainingJob.objects.filter(pk=job_id).values_list("evaluation", flat=True).first() or {}
    worst = evaluation.get("worst_misclassified") or []
    if not worst:
        return 0
    X, _ = load_split(ctx.dataset_dir, "test", mmap=True)
    if not thumbnails.is_image_input(ctx.preprocessing(), tuple(X.shape[1:])):
        return 0
    folder = ctx.artifacts_dir / "thumbnails"
    for entry in worst:
        path = folder / thumbnails.filename(entry)
        width, height = thumbnails.write_png(X[int(entry["index"])], path)
        artifact = record(job_id, thumbnails.KIND, path)
        entry["thumbnail"] = {"artifact_id": artifact.pk, "filename": path.name, "width": width, "height": height}
    # Only while the run still holds the job (the runner saves the evaluation the same way).
    TrainingJob.objects.filter(pk=job_id, status=TrainingJob.Status.RUNNING).update(evaluation=evaluation)
    return len(worst)


def record_test_predictions(job_id: int, ctx: JobContext, ids: Any, outputs: np.ndarray) -> None:
    """test_predictions.csv: the model's prediction for every test sample, from the evaluated outputs."""
    path = write_test_predictions(ctx.artifacts_dir / "test_predictions.csv", ctx.preprocessing(), ctx.task,
                                  ctx.output_kind, ctx.class_names, ids, outputs)  # fmt: skip
    record(job_id, "test_predictions", path)


def export(job_id: int, ctx: JobContext, model: Any, sample_input: np.ndarray) -> None:
    """The model files and the code bundle, made by workers.training.export."""
    if not settings.LAYERLOOM_EXPORT_ARTIFACTS:
        return  # fault-injection tests and benchmarks that only measure training
    try:
        from workers.training.export import export_artifacts
    except ImportError:
        log.warning("job %s: workers.training.export is not installed; model files not exported", job_id)
        return
    try:
        evaluation = TrainingJob.objects.filter(pk=job_id).values_list("evaluation", flat=True).first()
        files = export_artifacts(ctx.framework, model, ctx.spec, ctx.preprocessing(), ctx.artifacts_dir, sample_input,
                                 evaluation=evaluation)  # fmt: skip
    except Exception as exc:
        log.exception("job %s: export failed", job_id)
        raise JobError(
            f"Training finished and the evaluation is saved, but exporting the model failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    for item in files:
        record(job_id, item.kind, Path(item.path), item.size_bytes, item.sha256)
