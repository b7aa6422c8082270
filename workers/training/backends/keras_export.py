"""Keras's export: model.keras, the SavedModel, model.tflite and ONNX, each checked against the
trained model. Imported by the Keras backend only (TensorFlow is loaded with it).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from builder.codegen.guard import load_module
from workers.training import bundle
from workers.training.export import INPUT_NAME, ONNX_OPSET, _compare, _version, tflite_outputs

log = logging.getLogger(__name__)


def export_files(
    model: Any, source: str, sample: np.ndarray, out_dir: Path, work: Path
) -> tuple[list[tuple[str, Path]], Path, np.ndarray, str]:
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


def bundle_weights(model: Any, source: str, work: Path) -> Path:
    """The trained weights saved from the trained module (augmentation layers included)."""
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
