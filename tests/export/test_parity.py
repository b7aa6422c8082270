"""Every exported form of a model computes what the trained model computes.

For a table MLP, a small CNN on images and an LSTM on text, in Keras and in PyTorch: the
native model, ONNX Runtime on model.onnx, the native files loaded back (.keras, the
SavedModel and the TFLite file in the LiteRT interpreter; TorchScript and safetensors), and the code bundle's predict.py run as a
separate process from the unzipped bundle on raw files, all agree within 1e-4 on the
probabilities. For the table, the bundle's train.py also trains model.py again from a CSV.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.export import helpers
from tests.export.helpers import CASES, TOLERANCE
from workers.training.export import export_artifacts, library_versions, tflite_outputs

# Loading TorchScript is what this test checks, deprecated in torch 2.13 or not.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

EXPECTED_KINDS = {
    "keras": {"keras", "savedmodel", "tflite", "onnx", "code_bundle", "versions"},
    "torch": {"safetensors", "torchscript", "onnx", "code_bundle", "versions"},
}


def reloaded_native(framework: str, files: dict[str, Path], module: Any, x: np.ndarray, into: Path) -> dict[str, Any]:
    """Outputs of the native files, loaded the way their documentation says."""
    if framework == "keras":
        import keras
        import tensorflow as tf

        model = keras.models.load_model(files["keras"], compile=False)
        with zipfile.ZipFile(files["savedmodel"]) as archive:
            archive.extractall(into)
        saved = tf.saved_model.load(str(into / "saved_model" / "1"))
        batch = x.astype(module.INPUT_DTYPE)
        outputs = {
            ".keras": np.asarray(model(batch, training=False)),
            "SavedModel serve()": saved.serve(tf.constant(batch)).numpy(),
        }
        if "tflite" in files:  # each test first asserts which files its model must have
            from ai_edge_litert.interpreter import Interpreter

            outputs["TFLite (LiteRT)"] = tflite_outputs(Interpreter, files["tflite"], batch)
        return outputs
    import torch
    from safetensors.torch import load_file

    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=module.INPUT_DTYPE))
    if module.INPUT_PERMUTATION:
        tensor = tensor.permute(*module.INPUT_PERMUTATION)
    with zipfile.ZipFile(files["torchscript"]) as archive:  # TorchScript keeps its tracing input
        stored = b"".join(archive.read(n) for n in archive.namelist() if "traced_inputs" in n)
    assert x[:4].astype(module.INPUT_DTYPE).tobytes()[:64] not in stored, "training data inside model.pt"
    scripted = torch.jit.load(str(files["torchscript"]))
    fresh = module.build_model()
    fresh.load_state_dict(load_file(str(files["safetensors"])))
    fresh.eval()
    with torch.no_grad():
        return {"TorchScript": scripted(tensor).numpy(), "safetensors": fresh(tensor).numpy()}


def retrain(framework: str, bundle: Path, doc: dict[str, Any], user: Path) -> None:
    """train.py trains model.py again on a labelled CSV; (torch) predict.py uses the new weights."""
    labelled = user / "train.csv"
    with labelled.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["species", "colour", "length", "width"])  # another column order than in training
        for i in range(40):
            writer.writerow([doc["class_names"][i % 3], ["red", "blue", ""][i % 3], f"{5 + i % 3}", "3.1"])
    weights = "retrained.safetensors" if framework == "torch" else "retrained.weights.h5"
    args = [str(labelled), "--epochs", "2", "--batch-size", "8", "--output", weights]
    assert "weights written" in helpers.run_script(bundle / "train.py", args, user).stdout
    assert (user / weights).stat().st_size > 0
    if framework == "torch":  # a second Keras process would cost 10 s of TensorFlow import for little news
        helpers.run_script(bundle / "predict.py", [str(labelled), "--weights", weights, "--output", "new.csv"], user)
        rows, probabilities = helpers.read_predictions(user / "new.csv", doc["class_names"])
        assert len(rows) == 40
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def exported_differences(
    framework: str, files: dict[str, Path], module: Any, case: helpers.Case, expected: np.ndarray, tmp_path: Path
) -> tuple[dict[str, float], list[dict[str, str]], Path]:
    """The largest difference from the model's outputs of ONNX Runtime, each reloaded native
    file and the bundle's predict.py; with predict.py's rows and the unzipped bundle folder."""
    x = case.x
    differences = {"ONNX Runtime": float(np.abs(helpers.onnx_outputs(files["onnx"], x) - expected).max())}
    for name, outputs in reloaded_native(framework, files, module, x, tmp_path / "unzipped").items():
        differences[name] = float(np.abs(outputs - expected).max())

    # The user's side: unzip the bundle somewhere else and run predict.py on the raw files.
    user = tmp_path / "user"
    user.mkdir()
    bundle = helpers.unzip_bundle(files["code_bundle"], user)
    helpers.run_script(bundle / "predict.py", [*map(str, case.inputs), "--output", "predictions.csv"], cwd=user)
    rows, probabilities = helpers.read_predictions(user / "predictions.csv", case.doc["class_names"])
    differences["bundle predict.py"] = float(np.abs(probabilities - helpers.probabilities(expected)).max())
    return differences, rows, bundle


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_exports_agree(framework: str, kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    data = tmp_path / "my data"  # a space in the path, as on many laptops
    data.mkdir()
    case = CASES[kind](data, rng)
    model, module = helpers.build(framework, case.spec, seed=11)
    x = case.x
    expected = helpers.native_outputs(framework, model, module, x)
    assert np.all(np.isfinite(expected))

    exported = export_artifacts(
        framework, model, case.spec, case.doc, tmp_path / "artifacts", x[:4], hyperparameters={"epochs": 3}
    )
    files = {item.kind: item.path for item in exported}
    # TFLite's built-in ops cannot run Keras 3's recurrent layers: that model gets no .tflite.
    assert set(files) == EXPECTED_KINDS[framework] - ({"tflite"} if kind == "text" else set())
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == sorted(p.name for p in files.values())
    for item in exported:
        assert item.size_bytes == item.path.stat().st_size > 0
        assert len(item.sha256) == 64

    differences, rows, bundle = exported_differences(framework, files, module, case, expected, tmp_path)
    reference = helpers.probabilities(expected)
    user = bundle.parent
    print(f"\n{framework} {kind}: largest differences {json.dumps(differences)}")
    assert max(differences.values()) < TOLERANCE, differences

    labels = [helpers._safe(case.doc["class_names"][i]) for i in reference.argmax(axis=1)]
    assert [row["label"] for row in rows] == labels
    assert all(not row["label"].startswith("=") for row in rows)  # a formula-like class name is neutralised

    if kind == "tabular":
        retrain(framework, bundle, case.doc, user)

    versions = json.loads(files["versions"].read_text())
    assert versions == json.loads((bundle / "versions.json").read_text())
    assert versions["packages"] == library_versions(framework)["packages"]
    assert versions["framework"] == framework and versions["onnx_opset"] >= 13


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_regression_exports_agree_and_predict_py_reports_target_units(framework: str, tmp_path: Path) -> None:
    """Model files give the standardised output (the documented contract); predict.py gives prices."""
    data = tmp_path / "data"
    data.mkdir()
    case = helpers.regression_case(data, np.random.default_rng(3))
    model, module = helpers.build(framework, case.spec, seed=5)
    x = case.x
    raw = helpers.native_outputs(framework, model, module, x)
    exported = export_artifacts(framework, model, case.spec, case.doc, tmp_path / "artifacts", x[:4])
    files = {item.kind: item.path for item in exported}
    assert set(files) == EXPECTED_KINDS[framework]  # an MLP converts to TFLite: a missing file is a failure
    assert float(np.abs(helpers.onnx_outputs(files["onnx"], x) - raw).max()) < TOLERANCE
    for name, outputs in reloaded_native(framework, files, module, x, tmp_path / "unzipped").items():
        assert float(np.abs(outputs - raw).max()) < TOLERANCE, name

    user = tmp_path / "user"
    user.mkdir()
    bundle = helpers.unzip_bundle(files["code_bundle"], user)
    assert json.loads((bundle / "preprocessing.json").read_text())["target_scaling"] == {"mean": 250.0, "std": 90.0}
    helpers.run_script(bundle / "predict.py", [*map(str, case.inputs), "--output", "predictions.csv"], cwd=user)
    with (user / "predictions.csv").open(newline="", encoding="utf-8") as handle:
        predicted = np.array([float(row["prediction"]) for row in csv.DictReader(handle)])
    np.testing.assert_allclose(predicted, raw.reshape(-1) * 90.0 + 250.0, rtol=1e-6, atol=1e-4)

    # train.py learns the standardised price: a few epochs from the CSV leave predictions near the prices.
    args = [str(case.inputs[0]), "--epochs", "60", "--batch-size", "5", "--learning-rate", "0.05", "--output"]
    weights = "retrained.safetensors" if framework == "torch" else "retrained.weights.h5"
    helpers.run_script(bundle / "train.py", [*args, weights], user)
    helpers.run_script(bundle / "predict.py", [str(case.inputs[0]), "--weights", weights, "--output", "new.csv"], user)
    with (user / "new.csv").open(newline="", encoding="utf-8") as handle:
        again = np.array([float(row["prediction"]) for row in csv.DictReader(handle)])
    with case.inputs[0].open(newline="", encoding="utf-8") as handle:
        prices = np.array([float(row["price"]) for row in csv.DictReader(handle)])
    assert np.abs(again - prices).mean() < 0.25 * np.abs(prices - prices.mean()).mean(), (again, prices)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_new_layers_export_and_augmentation_is_left_out_of_the_files(framework: str, tmp_path: Path) -> None:
    """Augmentation, spatial dropout, upsampling, transposed convolution and global max pooling
    export to every format, and the files compute the inference model (no random changes)."""
    layer = helpers.layer
    spec = {
        "format": 1,
        "name": "export-new-layers",
        "input": {"shape": [8, 8, 3]},
        "layers": [
            layer("flip", "RandomFlip"),
            layer("turn", "RandomRotation", factor=0.1),
            layer("zoom", "RandomZoom", height_factor=0.2),
            layer("contrast", "RandomContrast", factor=0.3),
            layer("conv", "Conv2D", filters=4, kernel_size=3, strides=2, padding="same", activation="relu"),
            layer("drop", "SpatialDropout2D", rate=0.2),
            layer("up", "UpSampling2D", interpolation="bilinear"),
            layer("deconv", "Conv2DTranspose", filters=3, kernel_size=3, strides=2, padding="same"),
            layer("pool", "GlobalMaxPooling2D"),
            layer("out", "Dense", units=2, activation="softmax"),
        ],
    }
    doc = helpers.image_case(tmp_path, np.random.default_rng(1)).doc | {"input_shape": [8, 8, 3]}
    doc["image"] = doc["image"] | {"size": [8, 8]}
    model, module = helpers.build(framework, spec, seed=2)
    x = np.random.default_rng(4).uniform(0, 1, size=(5, 8, 8, 3)).astype("float32")
    expected = helpers.native_outputs(framework, model, module, x)
    exported = export_artifacts(framework, model, spec, doc, tmp_path / "artifacts", x[:4])
    files = {item.kind: item.path for item in exported}
    assert set(files) == EXPECTED_KINDS[framework]  # these layers convert to TFLite's built-in operations
    assert float(np.abs(helpers.onnx_outputs(files["onnx"], x) - expected).max()) < TOLERANCE
    for name, outputs in reloaded_native(framework, files, module, x, tmp_path / "unzipped").items():
        assert float(np.abs(outputs - expected).max()) < TOLERANCE, name


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_transformer_exports_agree(framework: str, tmp_path: Path) -> None:
    """A Transformer encoder block on text (positional embedding, self-attention, add & norm,
    feed-forward) exports to ONNX and every native format, and the files agree with the model."""
    layer = helpers.layer
    case = helpers.text_case(tmp_path, np.random.default_rng(5))
    block = [
        layer("embed", "PositionalEmbedding", input_dim=12, output_dim=8),
        layer("attn", "MultiHeadAttention", num_heads=2, key_dim=4, dropout=0.1),
        layer("add1", "Add") | {"inputs": ["embed", "attn"]},
        layer("norm1", "LayerNormalization"),
        layer("ff1", "Dense", units=16, activation="relu"),
        layer("ff2", "Dense", units=8),
        layer("add2", "Add") | {"inputs": ["norm1", "ff2"]},
        layer("norm2", "LayerNormalization"),
        layer("gap", "GlobalAveragePooling1D"),
        layer("out", "Dense", units=1, activation="sigmoid"),
    ]
    spec = case.spec | {"name": "export-transformer", "layers": block}
    model, module = helpers.build(framework, spec, seed=3)
    x = case.x
    expected = helpers.native_outputs(framework, model, module, x)
    exported = export_artifacts(framework, model, spec, case.doc, tmp_path / "artifacts", x[:4])
    files = {item.kind: item.path for item in exported}
    # Attention converts to TFLite's built-in operations: the Keras model gets a .tflite too.
    assert set(files) == EXPECTED_KINDS[framework]
    differences, _, _ = exported_differences(framework, files, module, case, expected, tmp_path)
    print(f"\n{framework} transformer: largest differences {json.dumps(differences)}")
    assert max(differences.values()) < TOLERANCE, differences
