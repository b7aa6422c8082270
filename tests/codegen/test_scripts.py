"""train.py, predict.py and dataio.py: fixed, ruff- and guard-clean, and they run on raw files.

The heavy proof (predict.py agrees with the native model and ONNX Runtime on CSV, image and
text inputs; train.py retrains from a CSV, for both frameworks) is tests/export/test_parity.py.
"""

from __future__ import annotations

import csv
import json
import runpy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from builder.codegen import generate_dataio_module, generate_predict_script, generate_torch, generate_train_script
from builder.codegen.guard import SCRIPT_POLICY, check_source
from builder.codegen.scripts import FRAMEWORKS, TEMPLATES, generate_heads_module, generate_schedules_module
from builder.datasets import csvsafe, preprocessing
from builder.datasets.kinds import all_kinds, get_kind
from builder.spec import SpecValidationError, presets

ROOT = Path(__file__).resolve().parents[2]
# Imported by the scripts from their own folder.
BUNDLE_MODULES = ("model", "preprocessing", "csvsafe", "heads", "dataio", "kindio", "schedules")


def scripts(framework: str) -> dict[str, str]:
    spec = presets()["mlp"]
    return {
        "train.py": generate_train_script(spec, framework),
        "predict.py": generate_predict_script(spec, framework),
        "dataio.py": generate_dataio_module(),
        "kindio.py": get_kind("tabular").bundle_modules()["kindio.py"],
        "heads.py": generate_heads_module(),
        "schedules.py": generate_schedules_module(),
    }


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_scripts_are_the_same_fixed_files_for_every_spec(framework: str) -> None:
    expected = scripts(framework)
    assert expected["train.py"] == (TEMPLATES / f"train_{framework}.py").read_text(encoding="utf-8")
    assert expected["predict.py"] == (TEMPLATES / f"predict_{framework}.py").read_text(encoding="utf-8")
    for name, spec in presets().items():
        spec["name"] = 'evil"); __import__("os").system("true"); ("'
        assert generate_train_script(spec, framework) == expected["train.py"], name
        assert generate_predict_script(spec, framework) == expected["predict.py"], name
    assert "__import__" not in "".join(expected.values())


def test_scripts_refuse_an_invalid_spec_and_an_unknown_framework() -> None:
    bad = {"format": 1, "input": {"shape": [4]}, "layers": [{"id": "x y", "type": "Dense"}]}
    for generate in (generate_train_script, generate_predict_script):
        with pytest.raises(SpecValidationError):
            generate(bad, "torch")
        with pytest.raises(ValueError, match="framework"):
            generate(presets()["mlp"], "jax")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_scripts_pass_the_guard(framework: str) -> None:
    for name, text in scripts(framework).items():
        try:
            check_source(text, SCRIPT_POLICY)
        except ValueError as exc:
            pytest.fail(f"{framework} {name}: {exc}")


def test_every_kinds_bundle_modules_pass_the_guard() -> None:
    for kind in all_kinds():
        policy = replace(SCRIPT_POLICY, modules=SCRIPT_POLICY.modules | kind.bundle_imports)
        for name, text in kind.bundle_modules().items():
            try:
                check_source(text, policy)
            except ValueError as exc:
                pytest.fail(f"{kind.name} {name}: {exc}")


def test_scripts_are_ruff_clean(tmp_path: Path) -> None:
    for framework in FRAMEWORKS:
        folder = tmp_path / framework
        folder.mkdir()
        for name, text in scripts(framework).items():
            (folder / name).write_text(text, encoding="utf-8")
    # The project's own rules, as for every other file here.
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise"]
    command += ["--config", str(ROOT / "pyproject.toml"), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- a quick run of the torch scripts on a small CSV ----------------------------------------

SPEC = {
    "format": 1,
    "name": "tiny",
    "input": {"shape": [3]},
    "layers": [
        {"id": "hidden", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 2, "activation": "softmax"}},
    ],
}
DOC = {
    "format": 1,
    "kind": "tabular",
    "task": "classification",
    "target_column": "label",
    "class_names": ["no", "=yes"],  # a formula: predict.py writes it with a leading quote
    "features": [
        {"name": "a", "type": "numeric", "mean": 0.0, "std": 1.0, "impute": 0.0},
        {"name": "b", "type": "numeric", "mean": 0.0, "std": 1.0, "impute": 0.0},
        {"name": "colour", "type": "categorical", "categories": ["red"], "encoding": "onehot", "impute": "red"},
    ],
    "input_shape": [3],
}


@pytest.fixture
def forget_bundle_modules() -> Iterator[None]:
    """The scripts import model, preprocessing and dataio from their folder; forget them afterwards."""
    saved = {name: sys.modules.pop(name) for name in BUNDLE_MODULES if name in sys.modules}
    yield
    for name in BUNDLE_MODULES:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def write_csv(path: Path, rows: int, rng: np.random.Generator) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "colour", "label"])
        for _ in range(rows):
            a, b = rng.normal(size=2)
            writer.writerow([f"{a:.3f}", "" if rng.random() < 0.2 else f"{b:.3f}", "red", "=yes" if a > 0 else "no"])


def test_torch_train_and_predict_run_on_a_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], forget_bundle_modules: None
) -> None:
    pytest.importorskip("safetensors")
    # The scripts' folder, as workers.training.bundle lays it out.
    for name, text in scripts("torch").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "model.py").write_text(generate_torch(SPEC), encoding="utf-8")
    (tmp_path / "preprocessing.py").write_text(Path(preprocessing.__file__).read_text(encoding="utf-8"))
    (tmp_path / "csvsafe.py").write_text(Path(csvsafe.__file__).read_text(encoding="utf-8"))
    (tmp_path / "preprocessing.json").write_text(json.dumps(DOC))
    (tmp_path / "bundle.json").write_text(json.dumps({"format": 1, "head": "softmax", "weights": "model.safetensors"}))
    (tmp_path / "training.json").write_text(json.dumps({"epochs": 3, "batch_size": 8, "seed": 1}))
    rng = np.random.default_rng(0)
    write_csv(tmp_path / "train.csv", 24, rng)
    write_csv(tmp_path / "val.csv", 6, rng)

    # Run as __main__ in this process (torch is imported once), from their folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def run(script: str, *args: str) -> None:
        monkeypatch.setattr(sys, "argv", [script, *args])
        runpy.run_path(str(tmp_path / script), run_name="__main__")

    run("train.py", "train.csv", "--validation", "val.csv", "--output", "new.safetensors")
    out = capsys.readouterr().out
    assert "epoch 3/3" in out and "val_loss" in out  # epochs from training.json, validation from --validation
    assert (tmp_path / "new.safetensors").stat().st_size > 0
    run("predict.py", "val.csv", "--weights", "new.safetensors", "--output", "predictions.csv")

    with (tmp_path / "predictions.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["input"] for row in rows] == [f"val.csv:{n}" for n in range(1, 7)]
    for row in rows:
        assert row["label"] in {"no", "'=yes"}
        assert float(row["p(no)"]) + float(row["p(=yes)"]) == pytest.approx(1.0, abs=1e-6)
        assert float(row["probability"]) == max(float(row["p(no)"]), float(row["p(=yes)"]))

    # A number float32 cannot hold is refused naming its column, as the predict endpoint does.
    (tmp_path / "huge.csv").write_text("a,b,colour\n1e39,0.5,red\n", encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        run("predict.py", "huge.csv", "--weights", "new.safetensors")
    assert str(refused.value).startswith("cannot use this input: column 'a': 1e+39 is too large for the model")
