"""The generated torch train.py and predict.py run end to end next to model.py."""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.codegen import generate_predict_script, generate_torch, generate_train_script
from builder.spec import presets

# Stands in for the dataset's preprocessing.py (which the bundle ships): columns f0..f15 as floats.
STUB_PREPROCESSING = """
import numpy as np


def transform_records(doc, records):
    return np.array([[float(r[f"f{i}"]) for i in range(16)] for r in records], dtype="float32")
"""


def test_torch_train_and_predict_scripts_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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

    # Run the scripts as __main__ in this process (torch is imported once), from their folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("model", "preprocessing"):  # the bundle's own modules; forgotten again afterwards
        monkeypatch.delitem(sys.modules, name, raising=False)

    def run(script: str, *args: str) -> str:
        monkeypatch.setattr(sys, "argv", [script, *args])
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            runpy.run_path(str(tmp_path / script), run_name="__main__")
        return output.getvalue()

    out = run("train.py", "--data", "data", "--epochs", "2", "--batch-size", "4")
    assert "epoch 2/2" in out
    assert (tmp_path / "model.pt").exists()
    prediction = json.loads(run("predict.py", "rows.csv").strip())
    assert prediction["prediction"] in {"a", "b", "c"}
    assert 0.0 <= prediction["probability"] <= 1.0
