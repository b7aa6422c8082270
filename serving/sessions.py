"""Loaded models: an ONNX Runtime session with what is needed to read its inputs and outputs.

Loaded on first use and kept in a least-recently-used cache bounded by what the loaded
sessions hold in memory (LAYERLOOM_SERVING_CACHE_BYTES), measured when each is loaded. A model
file is only ever the job's own ONNX artifact, found by its Artifact row and checked against
the sha256 recorded at export. ONNX Runtime's memory arena is off: a request's activations are
returned when it ends instead of staying with the process, and each request's batch is bounded
before it runs (LAYERLOOM_PREDICT_MEMORY_MB, serving.predict).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort
from django.conf import settings
from django.db.models import OuterRef, Subquery

from builder.codegen.scripts import output_kind
from builder.datasets.kinds import kind_of
from builder.limits import spec_limits
from builder.spec import resolve, validate_spec
from workers.models import Artifact, TrainingJob


class NotServable(Exception):
    """The job cannot answer predictions (not finished, or no model file); the message says why."""


@dataclass
class LoadedModel:
    job_id: int
    framework: str
    artifact_id: int
    sha256: str
    size_bytes: int  # the ONNX file's
    memory_bytes: int  # what loading it added to the process, at least the file's size
    sample_bytes: int  # activations one input puts through the model (float32), from the spec
    session: ort.InferenceSession
    doc: dict[str, Any]  # the dataset version's preprocessing.json
    head: str  # "softmax" | "sigmoid" | "linear", as training read the output
    input_dtype: Any
    columns: frozenset[str]  # tables: every column of the uploaded CSV
    # What the kind compares inputs with to warn of values far outside the training data
    # (DatasetKind.training_ranges: tables, each numeric column's lowest and highest value).
    ranges: dict[str, Any] = field(default_factory=dict)

    def run(self, x: np.ndarray) -> np.ndarray:
        (output,) = self.session.run(["output"], {"input": np.ascontiguousarray(x, dtype=self.input_dtype)})
        return np.asarray(output)


# All a predict request reads of its job while the model is loaded (the API reads the job with
# only these): the dataset and the spec are read again only to load the model.
PREDICT_FIELDS = ("status", "owner", "framework")


class ModelCache:
    """Least recently used first out, once the loaded files exceed ``limit_bytes``."""

    def __init__(self) -> None:
        self._items: OrderedDict[int, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job: TrainingJob) -> LoadedModel:
        artifact_id, sha256 = onnx_identity(job)
        with self._lock:
            found = self._items.get(artifact_id)
            if found is not None and found.sha256 == sha256:
                self._items.move_to_end(artifact_id)
                return found
        pk = job.pk
        artifact = Artifact.objects.filter(pk=artifact_id).first()
        if job.get_deferred_fields():  # read with PREDICT_FIELDS only: loading needs the dataset and the spec
            job = TrainingJob.objects.select_related("dataset").filter(pk=pk).first()
        if artifact is None or job is None:  # deleted since the job was read (the job is being deleted)
            raise NotServable(f"Job {pk}'s model file is gone; the job may have been deleted.")
        loaded = load(job, artifact)  # outside the lock: a slow load does not stall other models
        with self._lock:
            self._items[artifact.pk] = loaded
            self._items.move_to_end(artifact.pk)
            self._evict(settings.LAYERLOOM_SERVING_CACHE_BYTES)
        return loaded

    def _evict(self, limit: int) -> None:
        # The newest stays even when it alone is over the limit: it is about to be used.
        while len(self._items) > 1 and self.total_bytes() > limit:
            self._items.popitem(last=False)

    def total_bytes(self) -> int:
        return sum(item.memory_bytes for item in self._items.values())

    def loaded_jobs(self) -> list[int]:
        with self._lock:
            return [item.job_id for item in self._items.values()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = ModelCache()


def onnx_annotations(job: str = "pk") -> dict[str, Subquery]:
    """The newest ONNX artifact's id and sha256, as annotations of a query whose ``job`` field
    is the job: a predict request finds its job and its model's identity in one query."""
    newest = Artifact.objects.filter(job=OuterRef(job), kind="onnx").order_by("-pk")
    return {"onnx_id": Subquery(newest.values("pk")[:1]), "onnx_sha256": Subquery(newest.values("sha256")[:1])}


def servable(job: TrainingJob) -> bool:
    """A job read with onnx_annotations() that has a model to serve: it succeeded and has an ONNX file."""
    return job.status == TrainingJob.Status.SUCCEEDED and getattr(job, "onnx_id", None) is not None


def onnx_identity(job: TrainingJob) -> tuple[int, str]:
    """(artifact id, sha256) of the job's model; NotServable when it has none to serve."""
    if job.status != TrainingJob.Status.SUCCEEDED:
        raise NotServable(
            f"Job {job.pk} is {job.status}: only a job that succeeded has a model to predict with. "
            "Wait for it to finish, or use another job."
        )
    if hasattr(job, "onnx_id"):  # annotated by onnx_annotations()
        found: tuple[int, str] | None = (job.onnx_id, job.onnx_sha256) if job.onnx_id is not None else None
    else:
        found = Artifact.objects.filter(job=job, kind="onnx").order_by("-pk").values_list("pk", "sha256").first()
    if found is None:
        raise NotServable(f"Job {job.pk} has no ONNX model file, so it cannot serve predictions; retrain it.")
    return found


def load(job: TrainingJob, artifact: Artifact) -> LoadedModel:
    path = artifact.stored_file()
    if path is None:
        raise NotServable(f"Job {job.pk}'s model file is missing; retrain the job.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise NotServable(f"Job {job.pk}'s model file does not match its recorded sha256; it is not used.")
    doc_path = job.dataset_dir / "preprocessing.json"
    if not doc_path.is_file():
        raise NotServable(f"The preprocessing of job {job.pk}'s dataset version is missing; re-ingest the dataset.")
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    options = ort.SessionOptions()
    # Few threads per session: the web server runs many requests side by side.
    options.intra_op_num_threads = settings.LAYERLOOM_SERVING_THREADS
    options.inter_op_num_threads = 1
    # Without the arena a run's buffers go back when it ends; with it the process keeps the
    # largest batch's activations for good (a 62 KB request once left 8.7 GB behind).
    options.enable_cpu_mem_arena = False
    before = resident_bytes()
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise NotServable(f"Job {job.pk}'s model file could not be loaded ({type(exc).__name__}).") from None
    memory = max(len(data), resident_bytes() - before)  # other threads' growth counts too: an upper bound
    report = validate_spec(job.spec, limits=spec_limits())
    input_type = session.get_inputs()[0].type
    profile_columns = [c.get("name") for c in (job.dataset.profile or {}).get("columns", []) if isinstance(c, dict)]
    columns = {f["name"] for f in doc.get("features", [])} | {str(c) for c in profile_columns if c}
    if doc.get("target_column"):
        columns.add(doc["target_column"])
    return LoadedModel(
        job_id=job.pk, framework=job.framework, artifact_id=artifact.pk, sha256=artifact.sha256,
        size_bytes=len(data), memory_bytes=memory, sample_bytes=4 * report.values_per_sample,
        session=session, doc=doc, head=output_kind(resolve(job.spec)),
        input_dtype=np.int32 if "int" in input_type else np.float32, columns=frozenset(columns),
        ranges=kind_of(doc).training_ranges(doc, job.dataset_dir),
    )  # fmt: skip


def resident_bytes(pid: int | str = "self") -> int:
    """A process's resident memory (Linux /proc; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
