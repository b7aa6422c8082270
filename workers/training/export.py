"""Export a trained model: native formats, ONNX and a code bundle, checked against each other.

Called once, at the end of training, inside the job's child process (the only place that
imports TensorFlow or torch, and lazily). Every export starts from a fresh float32 CPU
model rebuilt from the generated source with the trained weights copied in: that is what a
person gets from the bundle's model.py, and it keeps GPU placement and mixed-precision
policies out of the files. Before returning, the exported files are loaded back and run on
``sample_input``; an export whose outputs differ from the model's by more than
``TOLERANCE`` raises ExportError instead of publishing a file that predicts differently.

ONNX input, for both frameworks: the batch exactly as preprocessing.transform_records
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
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.codegen import generate_keras, generate_torch
from builder.codegen.guard import load_module
from builder.spec.inference import without_augmentation
from workers.training import bundle

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
) -> list[ExportedFile]:
    """Write every artifact of a trained model into ``out_dir`` and return them with hashes.

    ``model`` is the trained keras.Model or nn.Module built from the generated module;
    ``sample_input`` a few preprocessed inputs (channels-last, as the training arrays are)
    used to trace the graphs and to check the exports; ``model_source`` the module that was
    trained (generated again from ``spec`` when omitted: code generation is deterministic);
    ``hyperparameters`` become the bundle's train.py defaults.
    """
    if framework not in bundle.WEIGHTS:
        raise ExportError(f"framework must be keras or torch, not {framework!r}")
    source = model_source if model_source is not None else _generate(framework, spec)
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
        if framework == "keras":
            # The files hold the inference model: Keras would trace augmentation's random ops.
            inference = without_augmentation(spec)
            files_source = source if inference == spec else generate_keras(inference)
            files, weights, reference, exporter_name = _export_keras(model, files_source, sample, stage, work)
            if files_source != source:  # the bundle's weights file fits its model.py, the trained module
                weights = _keras_bundle_weights(model, source, work)
        else:
            files, weights, reference, exporter_name = _export_torch(model, source, sample, stage, work)
        onnx_path = stage / "model.onnx"
        _tidy_onnx(onnx_path, framework, versions)
        _check_onnx(onnx_path, sample, reference)
        versions["onnx_exporter"] = exporter_name
        versions["onnx_opset"] = _onnx_opset(onnx_path)
        files.append(("onnx", onnx_path))
        texts = bundle.bundle_files(framework, source, spec, preprocessing, versions, hyperparameters)
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


def _generate(framework: str, spec: dict[str, Any]) -> str:
    return generate_keras(spec) if framework == "keras" else generate_torch(spec)


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


# --- Keras -------------------------------------------------------------------------------


def _export_keras(
    model: Any, source: str, sample: np.ndarray, out_dir: Path, work: Path
) -> tuple[list[tuple[str, Path]], Path, np.ndarray, str]:
    import keras
    import tensorflow as tf

    module = load_module(source, "layerloom_export_model")
    sample = sample.astype(module.INPUT_DTYPE)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")  # a mixed-precision job still exports float32
    try:
        with keras.device("cpu:0"):
            fresh = module.build_model()
            fresh.set_weights(model.get_weights())
            reference = np.asarray(fresh(sample, training=False))
            if not tf.config.list_physical_devices("GPU") and model.dtype_policy.name == "float32":
                # On a GPU (TF32) or in mixed precision the trained model computes less
                # exactly; the float32 copy is exact by construction.
                _compare("copy of the trained model", np.asarray(model(sample, training=False)), reference)
            signature = [tf.TensorSpec((None, *module.INPUT_SHAPE), module.INPUT_DTYPE, name=INPUT_NAME)]

            fresh.save(out_dir / "model.keras")
            saved = work / "saved_model" / "1"
            fresh.export(str(saved), format="tf_saved_model", input_signature=signature, verbose=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # tf2onnx's numpy probes
                fresh.export(
                    str(out_dir / "model.onnx"),
                    format="onnx",
                    input_signature=signature,
                    opset_version=ONNX_OPSET,
                    verbose=False,
                )
            weights = work / bundle.WEIGHTS["keras"]
            fresh.save_weights(weights)

            reloaded = keras.models.load_model(out_dir / "model.keras", compile=False)
            _compare("model.keras", reference, np.asarray(reloaded(sample, training=False)))
            served = tf.saved_model.load(str(saved)).signatures["serving_default"]
            outputs = served(**{INPUT_NAME: tf.constant(sample)})
            _compare("SavedModel", reference, next(iter(outputs.values())).numpy())
            tflite = _tflite(saved, out_dir / "model.tflite", sample, reference)
    finally:
        keras.config.set_dtype_policy(policy)
    # Unzipped, saved_model/ is a TF Serving model_base_path holding version 1.
    bundle.zip_directory(out_dir / "saved_model.zip", saved, "saved_model/1")
    files = [("keras", out_dir / "model.keras"), ("savedmodel", out_dir / "saved_model.zip")]
    if tflite is not None:
        files.append(("tflite", tflite))
    return files, weights, reference, f"keras.Model.export (tf2onnx {_version('tf2onnx')})"


def _keras_bundle_weights(model: Any, source: str, work: Path) -> Path:
    """The trained weights saved from the trained module (augmentation layers included)."""
    import keras

    module = load_module(source, "layerloom_export_bundle_model")
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        with keras.device("cpu:0"):
            full = module.build_model()
            full.set_weights(model.get_weights())
            path = work / "bundle" / bundle.WEIGHTS["keras"]
            path.parent.mkdir()
            full.save_weights(path)
    finally:
        keras.config.set_dtype_policy(policy)
    return path


def _tflite(saved: Path, path: Path, sample: np.ndarray, reference: np.ndarray) -> Path | None:
    """model.tflite converted from the SavedModel (float32, built-in ops only), checked with the
    LiteRT interpreter a phone app uses. A model the converter cannot express with built-in
    ops, or that would predict differently, gets no .tflite file (the job's log says why):
    the other files are unaffected."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        path.write_bytes(converter.convert())
        _compare("TFLite model.tflite", reference, tflite_outputs(Interpreter, path, sample))
    except Exception as exc:  # noqa: BLE001 - no TFLite file is better than a failed job
        log.warning("no model.tflite: %s: %s", type(exc).__name__, str(exc)[:500])
        path.unlink(missing_ok=True)
        return None
    return path


def tflite_outputs(interpreter_class: Any, path: Path, batch: np.ndarray) -> np.ndarray:
    """Run a .tflite file on a batch of any size, as docs/deployment.md shows."""
    interpreter = interpreter_class(model_path=str(path))
    (given,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(given["index"], batch.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], batch.astype(given["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


# --- torch -------------------------------------------------------------------------------


def _export_torch(
    model: Any, source: str, sample: np.ndarray, out_dir: Path, work: Path
) -> tuple[list[tuple[str, Path]], Path, np.ndarray, str]:
    import torch
    from safetensors.torch import load_file, save_file

    module = load_module(source, "layerloom_export_model")
    fresh = module.build_model()
    state = {
        key: value.detach().to("cpu", dtype=torch.float32 if value.is_floating_point() else value.dtype).clone()
        for key, value in model.state_dict().items()
    }
    fresh.load_state_dict(state)
    fresh.eval()
    permutation = module.INPUT_PERMUTATION
    channels_last = torch.from_numpy(np.ascontiguousarray(sample, dtype=module.INPUT_DTYPE))
    native = channels_last.permute(*permutation).contiguous() if permutation else channels_last
    with torch.no_grad():
        reference = fresh(native).numpy()
    parameter = next(iter(model.parameters()), None)
    if parameter is None or parameter.device.type == "cpu":
        # On a GPU the trained model may compute in TF32; the copy is exact by construction.
        was_training = model.training
        model.eval()
        with torch.no_grad():
            _compare("copy of the trained model", model(native).numpy(), reference)
        model.train(was_training)

    weights = out_dir / "model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(weights), metadata={"format": "pt"})
    check = module.build_model()
    check.load_state_dict(load_file(str(weights)))
    check.eval()
    with torch.no_grad():
        _compare("model.safetensors", reference, check(native).numpy())

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constants; the check below is what counts
        # TorchScript stores the example it traced with; a synthetic one keeps the
        # person's data out of the file.
        traced = torch.jit.trace(fresh, (_synthetic(native[:2]),), check_trace=False)
    with warnings.catch_warnings():
        # torch 2.13 marks TorchScript deprecated in favour of torch.export; it still loads
        # everywhere, without Python, which is what this file is for.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(traced, str(out_dir / "model.pt"))
        loaded = torch.jit.load(str(out_dir / "model.pt"), map_location="cpu")
    with torch.no_grad():
        _compare("TorchScript model.pt", reference, loaded(native).numpy())

    exporter = _torch_onnx(fresh, permutation, _synthetic(channels_last[:2]), out_dir / "model.onnx")
    files = [("safetensors", weights), ("torchscript", out_dir / "model.pt")]
    return files, weights, reference, exporter


def _synthetic(example: Any) -> Any:
    """A tracing input of the example's shape and dtype, with no real data in it (kept small:
    TorchScript stores it in the file)."""
    import torch

    if example.is_floating_point():
        return torch.randn(example.shape, generator=torch.Generator().manual_seed(0)).to(example.dtype)
    return torch.ones_like(example)  # token ids: 1 is a valid index in any vocabulary


def _torch_onnx(fresh: Any, permutation: tuple[int, ...] | None, sample: Any, path: Path) -> str:
    """ONNX with a channels-last input: the dynamo exporter first, the TorchScript one if it fails."""
    import torch

    class ChannelsLast(torch.nn.Module):
        # Same input as the Keras export and the preprocessing output, for one serving path.
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x.permute(*permutation) if permutation else x)

    wrapped = ChannelsLast(fresh).eval()
    attempts: list[tuple[str, Callable[[], None]]] = [
        (
            "torch.onnx.export (dynamo)",
            lambda: torch.onnx.export(
                wrapped,
                (sample,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim(BATCH_AXIS)},),
                opset_version=ONNX_OPSET,
                external_data=False,
                dynamo=True,
                verbose=False,
            ),
        ),
        (
            "torch.onnx.export (TorchScript-based)",
            lambda: torch.onnx.export(
                wrapped,
                (sample,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: BATCH_AXIS}, OUTPUT_NAME: {0: BATCH_AXIS}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            ),
        ),
    ]
    failures = []
    for name, attempt in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                attempt()
            return f"{name}, torch {torch.__version__}"
        except Exception as exc:  # noqa: BLE001 - any exporter failure means: try the next one
            log.warning("ONNX export with %s failed: %s", name, exc)
            failures.append(f"{name}: {exc.__class__.__name__}: {str(exc)[:200]}")
            path.unlink(missing_ok=True)
    raise ExportError("ONNX export failed. " + " | ".join(failures))


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
