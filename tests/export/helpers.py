"""Tiny models, preprocessing documents and raw inputs for the export tests.

Each case is what a person would have: a spec, the dataset's fitted preprocessing.json,
and raw files (a CSV, image files, a text CSV) written into a folder, as they would give
them to the bundle's predict.py.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from builder.codegen import generate_keras, generate_torch
from builder.codegen.guard import load_module
from builder.datasets.kinds import transform_records

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TOLERANCE = 1e-4
# A class name a spreadsheet would run as a formula: it must come out neutralised.
FORMULA_CLASS = "=HYPERLINK(1)"


@dataclass
class Case:
    spec: dict[str, Any]
    doc: dict[str, Any]
    inputs: list[Path]  # raw files, as given on predict.py's command line
    records: list[Any]  # the same inputs as transform_records takes them

    @property
    def x(self) -> np.ndarray:
        return transform_records(self.doc, self.records)


def layer(layer_id: str, layer_type: str, **params: Any) -> dict[str, Any]:
    return {"id": layer_id, "type": layer_type, "params": params}


def tabular_case(folder: Path, rng: np.random.Generator) -> Case:
    spec = {
        "format": 1,
        "name": "export-mlp",
        "input": {"shape": [5]},
        "layers": [
            layer("hidden", "Dense", units=16, activation="relu"),
            layer("drop", "Dropout", rate=0.3),
            layer("out", "Dense", units=3, activation="softmax"),
        ],
    }
    doc = {
        "format": 1,
        "kind": "tabular",
        "task": "classification",
        "target_column": "species",
        "class_names": ["setosa", FORMULA_CLASS, "virginica"],
        "features": [
            {"name": "length", "type": "numeric", "mean": 5.8, "std": 0.8, "impute": 5.8},
            {"name": "width", "type": "numeric", "mean": 3.0, "std": 0.4, "impute": 3.0},
            {"name": "colour", "type": "categorical", "categories": ["red", "blue", "white"], "encoding": "onehot"}
            | {"impute": "red"},
        ],
        "input_shape": [5],
    }
    colours = ["red", "blue", "white", "", "purple"]  # a missing cell and a colour never seen in training
    rows = []
    for i in range(12):
        length = "" if i == 3 else f"{rng.normal(5.8, 1.0):.3f}"
        rows.append({"length": length, "width": f"{rng.normal(3.0, 0.5):.3f}", "colour": colours[i % 5]})
    path = folder / "flowers.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["length", "width", "colour", "species"])
        writer.writeheader()
        writer.writerows({**row, "species": "setosa"} for row in rows)
    return Case(spec, doc, [path], rows)


def image_case(folder: Path, rng: np.random.Generator) -> Case:
    spec = {
        "format": 1,
        "name": "export-cnn",
        "input": {"shape": [12, 12, 3]},
        "layers": [
            layer("conv1", "Conv2D", filters=4, kernel_size=3, padding="same", activation="relu"),
            layer("bn1", "BatchNormalization"),
            layer("pool1", "MaxPooling2D", pool_size=2),
            layer("conv2", "Conv2D", filters=6, kernel_size=3, activation="relu"),
            layer("flat", "Flatten"),
            layer("out", "Dense", units=3, activation="softmax"),
        ],
    }
    doc = {
        "format": 1,
        "kind": "images",
        "task": "classification",
        "class_names": ["cat", "dog", FORMULA_CLASS],
        "image": {"size": [12, 12], "mode": "rgb", "resample": "bilinear", "scale": "1/255"}
        | {"max_pixels": 40_000_000, "formats": ["JPEG", "PNG", "BMP", "GIF", "WEBP"]},
        "input_shape": [12, 12, 3],
    }
    images = folder / "photos"
    images.mkdir()
    records = []
    # Mixed sizes and modes, as people's photos come: preprocessing resizes and converts them.
    for i, (size, mode) in enumerate([((20, 16), "RGB"), ((12, 12), "RGBA"), ((9, 30), "L"), ((40, 40), "RGB")]):
        channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
        pixels = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
        image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        (images / f"img_{i}.png").write_bytes(buffer.getvalue())
        records.append(buffer.getvalue())
    return Case(spec, doc, [images], records)


def text_case(folder: Path, rng: np.random.Generator) -> Case:
    words = ["good", "bad", "film", "plot", "actor", "great", "boring", "long", "short", "music"]
    spec = {
        "format": 1,
        "name": "export-text",
        "input": {"shape": [8]},
        "layers": [
            layer("embed", "Embedding", input_dim=len(words) + 2, output_dim=6),
            layer("lstm", "LSTM", units=5),
            layer("out", "Dense", units=1, activation="sigmoid"),
        ],
    }
    doc = {
        "format": 1,
        "kind": "text",
        "task": "classification",
        "class_names": ["negative", "positive"],
        "text": {"column": "review", "label_column": "sentiment", "normalize": "NFKC", "lowercase": True}
        | {"token_pattern": r"\w+", "vocabulary": ["<pad>", "<oov>", *words], "pad_index": 0, "oov_index": 1}
        | {"sequence_length": 8, "truncate": "post", "pad": "post"},
        "input_shape": [8],
    }
    texts = [
        "Good film, GREAT music!",
        "Boring plot and a long, long film that never ends at all really",
        "unknown words only",
        "",
        "Ｇｏｏｄ actor",  # full-width letters, normalised by NFKC
        "=cmd|' /C calc'!A0 bad",
    ]
    path = folder / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        writer.writerows([text, "positive"] for text in texts)
    return Case(spec, doc, [path], texts)


def regression_case(folder: Path, rng: np.random.Generator) -> Case:
    """A table with a price to predict; the model learns it standardised (target_scaling)."""
    spec = {
        "format": 1,
        "name": "export-regression",
        "input": {"shape": [2]},
        "layers": [layer("hidden", "Dense", units=8, activation="relu"), layer("out", "Dense", units=1)],
    }
    doc = {
        "format": 1,
        "kind": "tabular",
        "task": "regression",
        "target_column": "price",
        "class_names": [],
        "features": [
            {"name": "rooms", "type": "numeric", "mean": 3.0, "std": 1.2, "impute": 3.0},
            {"name": "area", "type": "numeric", "mean": 80.0, "std": 25.0, "impute": 80.0},
        ],
        "target_scaling": {"mean": 250.0, "std": 90.0},
        "input_shape": [2],
    }
    rows = [{"rooms": f"{rng.integers(1, 6)}", "area": f"{rng.normal(80, 25):.1f}"} for _ in range(10)]
    path = folder / "homes.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["rooms", "area", "price"])
        writer.writeheader()
        writer.writerows({**row, "price": f"{100 + 30 * float(row['rooms']):.1f}"} for row in rows)
    return Case(spec, doc, [path], rows)


CASES = {"tabular": tabular_case, "images": image_case, "text": text_case}


# --- models --------------------------------------------------------------------------------


def build(framework: str, spec: dict[str, Any], seed: int) -> tuple[Any, Any]:
    """(model, generated module) with random weights everywhere, statistics included."""
    rng = np.random.default_rng(seed)
    if framework == "keras":
        module = load_module(generate_keras(spec), "export_test_model")
        model = module.build_model()
        for item in model.layers:
            weights = item.get_weights()
            if weights:
                fresh = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in weights]
                if type(item).__name__ == "BatchNormalization":
                    fresh[3] = rng.uniform(0.5, 1.5, size=weights[3].shape).astype("float32")
                item.set_weights(fresh)
        return model, module
    import torch

    module = load_module(generate_torch(spec), "export_test_model")
    model = module.build_model()
    state = {}
    for key, value in model.state_dict().items():
        if not value.is_floating_point():
            state[key] = value
        elif key.endswith("running_var"):
            state[key] = torch.from_numpy(rng.uniform(0.5, 1.5, size=tuple(value.shape)).astype("float32"))
        else:
            state[key] = torch.from_numpy(rng.normal(scale=0.5, size=tuple(value.shape)).astype("float32"))
    model.load_state_dict(state)
    # Left in training mode, as a training loop leaves it: the export must switch to inference.
    model.train()
    return model, module


def native_outputs(framework: str, model: Any, module: Any, x: np.ndarray) -> np.ndarray:
    if framework == "keras":
        return np.asarray(model(x.astype(module.INPUT_DTYPE), training=False))
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=module.INPUT_DTYPE))
    if module.INPUT_PERMUTATION:
        tensor = tensor.permute(*module.INPUT_PERMUTATION)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(tensor).numpy()
    model.train(was_training)
    return out


def onnx_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (meta,) = session.get_inputs()
    assert meta.name == "input" and meta.shape[0] == "batch"
    dtype = np.int32 if "int" in meta.type else np.float32
    return session.run(["output"], {"input": x.astype(dtype)})[0]


def probabilities(outputs: np.ndarray) -> np.ndarray:
    """Per-class probabilities as predict.py reports them (a sigmoid unit is the second class)."""
    outputs = outputs.astype(np.float64)
    return np.concatenate([1 - outputs, outputs], axis=1) if outputs.shape[1] == 1 else outputs


# --- the bundle, as a user runs it ---------------------------------------------------------


def unzip_bundle(bundle: Path, into: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(into)
    return into / "code_bundle"


def run_script(script: Path, args: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Run a bundle script with a clean environment: no PYTHONPATH, so nothing of Layerloom
    is importable, only what requirements.txt installs (the test venv has it all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "DJANGO_SETTINGS_MODULE"}
    env |= {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-s", str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def read_predictions(path: Path, class_names: list[str]) -> tuple[list[dict[str, str]], np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = [_safe(f"p({name})") for name in class_names]
    return rows, np.array([[float(row[c]) for c in columns] for row in rows])


def _safe(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
