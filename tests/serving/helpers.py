"""Jobs whose model.onnx is a small linear model written with onnx.helper (no TensorFlow, no
torch, no training): fast enough for every input check, and the expected outputs are plain
numpy on the same weights. The end-to-end tests train real models instead (tests/workers/test_train_end_to_end.py).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import numpy as np
import onnx
from django.conf import settings
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from builder.datasets.kinds import transform_records
from builder.datasets.storage import data_root
from builder.models import Dataset
from workers.models import Artifact, TrainingJob

TABLE_DOC: dict[str, Any] = {
    "format": 1, "kind": "tabular", "task": "classification", "target_column": "species",
    "class_names": ["setosa", "=versicolor", "virginica"],
    "features": [
        {"name": "length", "type": "numeric", "mean": 5.8, "std": 0.8, "impute": 5.8},
        {"name": "width", "type": "numeric", "mean": 3.0, "std": 0.4, "impute": 3.0},
        {"name": "colour", "type": "categorical", "categories": ["red", "blue"], "encoding": "onehot",
         "impute": "red"},
    ],
    "input_shape": [4],
}  # fmt: skip
TEXT_DOC: dict[str, Any] = {
    "format": 1, "kind": "text", "task": "classification", "class_names": ["neg", "pos"],
    "text": {"column": "review", "label_column": "sentiment", "vocabulary": ["<pad>", "<oov>", "good", "bad"],
             "sequence_length": 5},
    "input_shape": [5],
}  # fmt: skip
IMAGE_DOC: dict[str, Any] = {
    "format": 1, "kind": "images", "task": "classification", "class_names": ["cats", "dogs"],
    "image": {"size": [4, 4], "mode": "grayscale"}, "input_shape": [4, 4, 1],
}  # fmt: skip


def spec_for(shape: list[int], units: int, activation: str) -> dict[str, Any]:
    layers = [{"id": "flat", "type": "Flatten"}] if len(shape) > 1 else []
    layers.append({"id": "out", "type": "Dense", "params": {"units": units, "activation": activation}})
    return {"format": 1, "name": "onnx-helper", "input": {"shape": shape}, "layers": layers}


def linear_onnx(shape: list[int], units: int, head: str, int_input: bool, seed: int = 0) -> tuple[bytes, Any]:
    """input (batch, ...) -> Flatten -> x @ W + b (-> Softmax | Sigmoid) = output; returns (file bytes, (W, b))."""
    rng = np.random.default_rng(seed)
    width = int(np.prod(shape))
    weights = rng.normal(size=(width, units)).astype(np.float32)
    bias = rng.normal(size=(units,)).astype(np.float32)
    nodes = []
    first = "input"
    if int_input:
        nodes.append(helper.make_node("Cast", ["input"], ["as_float"], to=TensorProto.FLOAT))
        first = "as_float"
    nodes += [
        helper.make_node("Flatten", [first], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["output" if head == "linear" else "logits"]),
    ]
    if head == "softmax":
        nodes.append(helper.make_node("Softmax", ["logits"], ["output"], axis=-1))
    elif head == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "linear",
        [
            helper.make_tensor_value_info(
                "input", TensorProto.INT32 if int_input else TensorProto.FLOAT, ["batch", *shape]
            )
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", units])],
        initializer=[numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString(), (weights, bias)


def onnx_job(
    owner: Any, doc: dict[str, Any], *, status: str = "succeeded", seed: int = 0, head: str = "", **dataset: Any
) -> TrainingJob:
    """A job of ``owner`` with a linear model.onnx over ``doc``'s inputs; ``head``: softmax
    (classes), sigmoid (one unit: the second of two classes) or linear (regression)."""
    shape = list(doc["input_shape"])
    regression = doc.get("task") == "regression"
    head = head or ("linear" if regression else "softmax")
    units = len(doc["class_names"]) if head == "softmax" else 1
    data, params = linear_onnx(shape, units, head, doc["kind"] == "text", seed)
    job = serving_job(owner, doc, spec_for(shape, units, head), data, status=status, **dataset)
    job.linear, job.head = params, head  # type: ignore[attr-defined]
    return job


def serving_job(
    owner: Any, doc: dict[str, Any], spec: dict[str, Any], data: bytes, *, status: str = "succeeded", **dataset: Any
) -> TrainingJob:
    """A job of ``owner`` trained (as far as serving can tell) on ``doc``'s data, whose model.onnx is ``data``."""
    regression = doc.get("task") == "regression"
    ds = Dataset.objects.create(
        owner=owner, name=f"{doc['kind']} data", kind=doc["kind"], status="ready", sha256="0" * 64,
        task=doc.get("task", "classification"), input_shape=list(doc["input_shape"]),
        num_classes=None if regression else len(doc["class_names"]),
        class_names=[] if regression else doc["class_names"], **dataset,
    )  # fmt: skip
    ds.version_dir.mkdir(parents=True, exist_ok=True)
    (ds.version_dir / "preprocessing.json").write_text(json.dumps(doc))
    job = TrainingJob.objects.create(
        owner=owner, spec=spec, dataset=ds, dataset_version=ds.version, framework="torch", status=status,
        hyperparameters={},
    )  # fmt: skip
    job.artifacts_dir.mkdir(parents=True, exist_ok=True)
    path = job.artifacts_dir / "model.onnx"
    path.write_bytes(data)
    Artifact.objects.create(
        job=job, kind="onnx", filename="model.onnx", path=str(path.relative_to(settings.LAYERLOOM_DATA_ROOT)),
        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
    return job


def expected(job: TrainingJob, records: list[Any]) -> np.ndarray:
    """What the model must answer, computed in numpy from the same weights."""
    doc = json.loads((job.dataset_dir / "preprocessing.json").read_text())
    weights, bias = job.linear  # type: ignore[attr-defined]
    x = transform_records(doc, records).reshape(len(records), -1).astype(np.float64)
    logits = x @ weights + bias
    if job.head == "linear":  # type: ignore[attr-defined]
        return logits
    if job.head == "sigmoid":  # type: ignore[attr-defined]
        positive = 1 / (1 + np.exp(-logits))
        return np.concatenate([1 - positive, positive], axis=1)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def png(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def with_upload(job: Any, name: str, data: bytes, test_ids: list[int]) -> Any:
    """Give the job's dataset a stored upload and a test split of those rows."""
    dataset = job.dataset
    path = dataset.data_dir / "source" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    dataset.source = str(path.relative_to(data_root()))
    dataset.save(update_fields=["source"])
    np.save(job.dataset_dir / "ids_test.npy", np.array(test_ids, dtype=np.int64))
    return job
