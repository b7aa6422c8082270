"""The generated torch train.py and predict.py run end to end next to model.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from builder.codegen import generate_predict_script, generate_torch, generate_train_script
from builder.spec import presets

# Stands in for the dataset's preprocessing.py (which the bundle ships): columns f0..f15 as floats.
STUB_PREPROCESSING = """
import numpy as np


def transform_records(doc, records):
    return np.array([[float(r[f"f{i}"]) for i in range(16)] for r in records], dtype="float32")
"""


def test_torch_train_and_predict_scripts_run(tmp_path: Path) -> None:
    spec = presets()["mlp"]
    (tmp_path / "model.py").write_text(generate_torch(spec))
    (tmp_path / "train.py").write_text(generate_train_script(spec, "torch"))
    (tmp_path / "predict.py").write_text(generate_predict_script(spec, "torch"))
    (tmp_path / "preprocessing.py").write_text(STUB_PREPROCESSING)
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, rows in (("train", 12), ("val", 4)):
        np.save(data / f"X_{split}.npy", rng.normal(size=(rows, 16)).astype("float32"))
        np.save(data / f"y_{split}.npy", rng.integers(0, 3, size=rows))
    doc = {"format": 1, "kind": "tabular", "task": "classification", "class_names": ["a", "b", "c"]}
    (data / "preprocessing.json").write_text(json.dumps(doc))
    (tmp_path / "preprocessing.json").write_text(json.dumps(doc))
    header = ",".join(f"f{i}" for i in range(16))
    (tmp_path / "rows.csv").write_text(header + "\n" + ",".join(["0.5"] * 16) + "\n")

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = run("train.py", "--data", "data", "--epochs", "2", "--batch-size", "4")
    assert "epoch 2/2" in out
    assert (tmp_path / "model.pt").exists()
    prediction = json.loads(run("predict.py", "rows.csv").strip())
    assert prediction["prediction"] in {"a", "b", "c"}
    assert 0.0 <= prediction["probability"] <= 1.0
