"""Export a trained model: native formats, ONNX and a code bundle, checked against each other.

Called once, at the end of training, inside the job's child process (the only place that
imports TensorFlow or torch, and lazily). Every export starts from a fresh float32 CPU
model rebuilt from the generated source with the trained weights copied in: that is what a
person gets from the bundle's model.py, and it keeps GPU placement and mixed-precision
policies out of the files. Before returning, the exported files are loaded back and run on
``sample_input``; an export whose outputs differ from the model's by more than
``TOLERANCE`` raises ExportError instead of publishing a file that predicts differently.

ONNX input, for both frameworks: the batch exactly as builder.datasets.kinds.transform_records
returns it (images channels-last), named "input", with a dynamic batch axis "batch";
output "output". So the ONNX Runtime predict endpoint needs no per-framework code.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.training import bundle
from workers.training.backends import backend_class

log = logging.getLogger(__name__)

# Largest allowed difference between the trained model and an exported file, on probabilities
# (relative to the output's magnitude when that exceeds 1, for regression values).
TOLERANCE = 1e-4
ONNX_OPSET = 18
INPUT_NAME, OUTPUT_NAME, BATCH_AXIS = "input", "output", "batch"
VERSION_PACKAGES = (
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "h5py",
    "torch",
    "safetensors",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "tf2onnx",
    "numpy",
    "pillow",
)


class ExportError(RuntimeError):
    """An artifact could not be written, or does not compute what the trained model computes."""


@dataclass(frozen=True)
class ExportedFile:
    kind: str  # keras | savedmodel | tflite | safetensors | torchscript | onnx | code_bundle | versions
    path: Path
    size_bytes: int
    sha256: str

    @classmethod
    def of(cls, kind: str, path: Path) -> ExportedFile:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(kind, path, path.stat().st_size, digest.hexdigest())


def export_artifacts(
    framework: str,
    model: Any,
    spec: dict[str, Any],
    preprocessing: dict[str, Any],
    out_dir: Path,
    sample_input: np.ndarray,
    *,
    model_source: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> list[ExportedFile]:
    """Write every artifact of a trained model into ``out_dir`` and return them with hashes.

    ``model`` is the trained keras.Model or nn.Module built from the generated module;
    ``sample_input`` a few preprocessed inputs (channels-last, as the training arrays are)
    used to trace the graphs and to check the exports; ``model_source`` the module that was
    trained (generated again from ``spec`` when omitted: code generation is deterministic);
    ``hyperparameters`` become the bundle's train.py defaults; ``evaluation`` (the job's, with
    its baselines) the README's "How good it is" section.
    """
    try:
        backend = backend_class(framework)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    source = model_source if model_source is not None else backend.framework.generate(spec)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sample = np.asarray(sample_input)
    if sample.ndim == len(spec["input"]["shape"]):
        sample = sample[None]
    if len(sample) < 2:
        # A batch of one lets tracing exporters fix the batch size at 1.
        sample = np.concatenate([sample, sample])
    versions = library_versions(framework)
    # Everything is written to a staging folder and moved into place at the end, so a
    # failed export leaves no half-set of files behind.
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as scratch:
        stage, work = Path(scratch) / "out", Path(scratch) / "work"
        stage.mkdir()
        work.mkdir()
        files, weights, reference, exporter_name = backend.export_native(model, source, spec, sample, stage, work)
        onnx_path = stage / "model.onnx"
        _tidy_onnx(onnx_path, framework, versions)
        _check_onnx(onnx_path, sample, reference)
        versions["onnx_exporter"] = exporter_name
        versions["onnx_opset"] = _onnx_opset(onnx_path)
        files.append(("onnx", onnx_path))
        texts = bundle.bundle_files(framework, source, spec, preprocessing, versions, hyperparameters, evaluation)
        files.append(
            ("code_bundle", bundle.write_bundle(stage / "code_bundle.zip", texts, weights, bundle.WEIGHTS[framework]))
        )
        versions_path = stage / "versions.json"
        versions_path.write_text(json.dumps(versions, indent=1) + "\n", encoding="utf-8")
        files.append(("versions", versions_path))
        placed = []
        for kind, path in files:
            target = out_dir / path.name
            os.replace(path, target)
            placed.append((kind, target))
    return [ExportedFile.of(kind, path) for kind, path in placed]


def library_versions(framework: str) -> dict[str, Any]:
    """The versions an export was made with; the bundle pins them (files can fail elsewhere)."""
    packages = {}
    for dist in VERSION_PACKAGES:
        try:
            packages[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    if "tensorflow" not in packages and "tensorflow-cpu" in packages:
        packages["tensorflow"] = packages["tensorflow-cpu"]
    packages.pop("tensorflow-cpu", None)
    return {
        "format": 1,
        "framework": framework,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "packages": packages,
    }


def _compare(name: str, expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64).reshape(expected.shape)
    difference = float(np.max(np.abs(expected - actual))) if expected.size else 0.0
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    log.info("export check %s: largest difference %.3g", name, difference)
    if not difference <= TOLERANCE * scale:  # also catches NaN
        raise ExportError(
            f"The exported {name} predicts differently from the trained model "
            f"(largest difference {difference:.3g}, allowed {TOLERANCE * scale:.3g}); it was not published."
        )
    return difference


def tflite_outputs(interpreter_class: Any, path: Path, batch: np.ndarray) -> np.ndarray:
    """Run a .tflite file on a batch of any size, as docs/deployment.md shows."""
    interpreter = interpreter_class(model_path=str(path))
    (given,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(given["index"], batch.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], batch.astype(given["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


# --- ONNX (both frameworks) --------------------------------------------------------------


def _tidy_onnx(path: Path, framework: str, versions: Mapping[str, Any]) -> None:
    """One input "input", one output "output", batch axis "batch", weights inside the file."""
    import onnx

    model = onnx.load(str(path))  # also pulls in any external data files next to it
    graph = model.graph
    renames = {graph.input[0].name: INPUT_NAME, graph.output[0].name: OUTPUT_NAME}
    for value in (*graph.input, *graph.output):
        value.name = renames.get(value.name, value.name)
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = BATCH_AXIS
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renames.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = renames.get(name, name)
    meta = {
        "layerloom.framework": framework,
        "layerloom.input_layout": "channels-last (as preprocessing.json produces it)",
        "layerloom.versions": json.dumps(versions["packages"], sort_keys=True),
    }
    kept = [p for p in model.metadata_props if p.key not in meta]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    # tf2onnx names the graph after a per-process function counter; without it equal
    # weights give an equal file.
    graph.doc_string = ""
    onnx.checker.check_model(model)
    for stray in path.parent.glob(path.name + ".data"):
        stray.unlink()
    onnx.save_model(model, str(path), save_as_external_data=False)


def _onnx_opset(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def _check_onnx(path: Path, sample: np.ndarray, reference: np.ndarray) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    dtype = np.int32 if "int" in session.get_inputs()[0].type else np.float32
    (output,) = session.run([OUTPUT_NAME], {INPUT_NAME: sample.astype(dtype)})
    _compare("ONNX model (ONNX Runtime)", reference, output)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
