"""Standalone train.py and predict.py skeletons that sit next to the generated model.py.

They read a dataset export (X_{split}.npy, y_{split}.npy, preprocessing.json) and the
preprocessing.py module that ships with it, so a downloaded bundle runs on its own.
"""

from __future__ import annotations

from typing import Any

from builder.codegen.source import literal
from builder.spec.report import ResolvedSpec
from builder.spec.validate import resolve

FRAMEWORKS = ("keras", "torch")


def output_kind(resolved: ResolvedSpec) -> str:
    """How the output is read: "softmax" (class probabilities), "sigmoid" or "linear"."""
    act = getattr(resolved.output.params, "activation", "linear")
    if act == "softmax":
        return "softmax"
    if act == "sigmoid" and resolved.output.output_shape == (1,):
        return "sigmoid"
    return "linear"


def _check_framework(framework: str) -> None:
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}, not {framework!r}")


def generate_train_script(spec: Any, framework: str) -> str:
    _check_framework(framework)
    resolved = resolve(spec)
    template = KERAS_TRAIN if framework == "keras" else TORCH_TRAIN
    return template.replace("__OUTPUT__", literal(output_kind(resolved)))


def generate_predict_script(spec: Any, framework: str) -> str:
    _check_framework(framework)
    resolved = resolve(spec)
    template = KERAS_PREDICT if framework == "keras" else TORCH_PREDICT
    return template.replace("__OUTPUT__", literal(output_kind(resolved)))


_USAGE = '''
DATA is a Layerloom dataset export: X_train.npy, y_train.npy, X_val.npy, y_val.npy and
preprocessing.json.
"""'''

_DATA_HELPERS = """

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the model in model.py.")
    parser.add_argument("--data", type=Path, required=True, help="dataset export folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path(WEIGHTS))
    return parser.parse_args()


def load_split(data: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.load(data / f"X_{split}.npy").astype(INPUT_DTYPE)
    y = np.load(data / f"y_{split}.npy")
    # Class indices for softmax outputs; floats for sigmoid and regression outputs.
    return x, y.astype("int64" if OUTPUT == "softmax" else "float32")


def check_task(data: Path) -> None:
    task = json.loads((data / "preprocessing.json").read_text(encoding="utf-8")).get("task")
    if (task == "regression") != (OUTPUT == "linear"):
        raise SystemExit(f"this model's output ({OUTPUT}) does not suit a {task} dataset")
"""

KERAS_TRAIN = (
    '''"""Train the Keras model in model.py: python train.py --data DATA [--epochs 10]
'''
    + _USAGE
    + """

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from model import INPUT_DTYPE, build_model

# The model's output: "softmax" (class probabilities), "sigmoid" (one probability) or
# "linear" (regression values); it decides the loss.
OUTPUT = __OUTPUT__
LOSSES = {
    "softmax": "sparse_categorical_crossentropy",
    "sigmoid": "binary_crossentropy",
    "linear": "mean_squared_error",
}
WEIGHTS = "model.weights.h5"
"""
    + _DATA_HELPERS
    + """

def main() -> None:
    args = parse_args()
    check_task(args.data)
    x_train, y_train = load_split(args.data, "train")
    x_val, y_val = load_split(args.data, "val")
    keras.utils.set_random_seed(args.seed)
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=LOSSES[OUTPUT],
        metrics=["mean_absolute_error"] if OUTPUT == "linear" else ["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=args.batch_size,
    )
    model.save_weights(args.output)


if __name__ == "__main__":
    main()
"""
)

TORCH_TRAIN = (
    '''"""Train the torch model in model.py: python train.py --data DATA [--epochs 10]
'''
    + _USAGE
    + """

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from model import INPUT_DTYPE, INPUT_PERMUTATION, build_model

# The model's output: "softmax" (class probabilities), "sigmoid" (one probability) or
# "linear" (regression values); it decides the loss.
OUTPUT = __OUTPUT__
WEIGHTS = "model.pt"
"""
    + _DATA_HELPERS
    + '''

def to_tensor(x: np.ndarray) -> torch.Tensor:
    """A channels-last batch as the model reads it (token ids as integers)."""
    tensor = torch.as_tensor(x, dtype=torch.long if INPUT_DTYPE == "int32" else torch.float32)
    return tensor.permute(*INPUT_PERMUTATION) if INPUT_PERMUTATION else tensor


def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # The model returns probabilities (like the Keras model), so the losses take logs here,
    # clipped as Keras clips them.
    if OUTPUT == "softmax":
        return F.nll_loss(torch.log(output.clamp(1e-7, 1.0)), target)
    if OUTPUT == "sigmoid":
        return F.binary_cross_entropy(output.squeeze(-1).clamp(1e-7, 1 - 1e-7), target)
    return F.mse_loss(output.squeeze(-1) if output.shape[-1] == 1 else output, target)


def main() -> None:
    args = parse_args()
    check_task(args.data)
    torch.manual_seed(args.seed)
    x_train, y_train = load_split(args.data, "train")
    x_val, y_val = load_split(args.data, "val")
    train = DataLoader(
        TensorDataset(to_tensor(x_train), torch.as_tensor(y_train)), batch_size=args.batch_size, shuffle=True
    )
    x_val_t, y_val_t = to_tensor(x_val), torch.as_tensor(y_val)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    for epoch in range(args.epochs):
        model.train()
        for xb, yb in train:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(x_val_t), y_val_t).item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss.item():.4f}, val_loss {val_loss:.4f}")
    torch.save(model.state_dict(), args.output)


if __name__ == "__main__":
    main()
'''
)

_PREDICT_HEAD = '''"""Predict with the trained model: python predict.py INPUT... [--weights FILE]

INPUT is a CSV file (tables), a text file with one text per line (text), or image files
(images); preprocessing.json and preprocessing.py from the dataset export sit alongside.
"""

import argparse
import csv
import json
from pathlib import Path
'''

_PREDICT_HELPERS = '''

def read_records(kind: str, paths: list[Path]) -> list:
    """Raw inputs as preprocessing.transform_records expects them."""
    if kind == "tabular":
        with paths[0].open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if kind == "text":
        return paths[0].read_text(encoding="utf-8").splitlines()
    return [path.read_bytes() for path in paths]


def describe(row: np.ndarray, class_names: list) -> dict:
    if OUTPUT == "softmax":
        best = int(row.argmax())
        label = class_names[best] if class_names else best
        return {"prediction": label, "probability": float(row[best])}
    if OUTPUT == "sigmoid":
        positive = float(row[0]) >= 0.5
        label = class_names[int(positive)] if class_names else int(positive)
        return {"prediction": label, "probability": float(row[0])}
    return {"prediction": row.tolist() if row.size > 1 else float(row[0])}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Predict with the model in model.py.")
    parser.add_argument("inputs", type=Path, nargs="+")
    parser.add_argument("--weights", type=Path, default=Path(WEIGHTS))
    parser.add_argument("--preprocessing", type=Path, default=Path("preprocessing.json"))
    return parser.parse_args()
'''

KERAS_PREDICT = (
    _PREDICT_HEAD
    + """
import numpy as np

import preprocessing
from model import INPUT_DTYPE, build_model

OUTPUT = __OUTPUT__
WEIGHTS = "model.weights.h5"
"""
    + _PREDICT_HELPERS
    + """

def main() -> None:
    args = parse_args()
    doc = json.loads(args.preprocessing.read_text(encoding="utf-8"))
    x = preprocessing.transform_records(doc, read_records(doc["kind"], args.inputs)).astype(INPUT_DTYPE)
    model = build_model()
    model.load_weights(args.weights)
    for row in np.asarray(model(x, training=False)):
        print(json.dumps(describe(row, doc.get("class_names") or [])))


if __name__ == "__main__":
    main()
"""
)

TORCH_PREDICT = (
    _PREDICT_HEAD
    + """
import numpy as np
import torch

import preprocessing
from model import INPUT_DTYPE, INPUT_PERMUTATION, build_model

OUTPUT = __OUTPUT__
WEIGHTS = "model.pt"
"""
    + _PREDICT_HELPERS
    + """

def main() -> None:
    args = parse_args()
    doc = json.loads(args.preprocessing.read_text(encoding="utf-8"))
    x = preprocessing.transform_records(doc, read_records(doc["kind"], args.inputs))
    tensor = torch.as_tensor(x, dtype=torch.long if INPUT_DTYPE == "int32" else torch.float32)
    if INPUT_PERMUTATION:
        tensor = tensor.permute(*INPUT_PERMUTATION)
    model = build_model()
    model.load_state_dict(torch.load(args.weights, weights_only=True))
    model.eval()
    with torch.no_grad():
        output = model(tensor).numpy()
    for row in output:
        print(json.dumps(describe(row, doc.get("class_names") or [])))


if __name__ == "__main__":
    main()
"""
)
