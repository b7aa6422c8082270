"""docs/deployment.md's commands, run as written on freshly exported files.

Each example is read from the doc, run as a separate Python process in a folder holding
the job's files and a preprocessed batch (x.npy), and its outputs.npy compared with the
trained model's outputs (1e-4). So the doc cannot drift from what the exports are.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.export import helpers
from workers.training.export import export_artifacts

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
EXAMPLES = {"keras": ["onnx", "savedmodel", "tflite"], "torch": ["onnx", "torchscript"]}
FILES = {"onnx": "model.onnx", "savedmodel": "saved_model.zip", "tflite": "model.tflite", "torchscript": "model.pt"}


def example(name: str) -> str:
    match = re.search(rf"<!-- example: {name} -->\s*```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"docs/deployment.md lost its {name} example"
    return match.group(1)


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_the_deployment_commands_run_and_agree_with_the_trained_model(framework: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    data = tmp_path / "data"
    data.mkdir()
    case = helpers.image_case(data, rng)  # channels-last images: the case where layouts differ
    model, module = helpers.build(framework, case.spec, seed=3)
    x = case.x.astype(np.float32)
    expected = helpers.native_outputs(framework, model, module, x)
    exported = export_artifacts(framework, model, case.spec, case.doc, tmp_path / "artifacts", x[:2])
    kinds = {item.kind for item in exported}
    # What the doc's table says each framework gets.
    if framework == "keras":
        assert {"savedmodel", "tflite", "onnx"} <= kinds and "torchscript" not in kinds
    else:
        assert {"torchscript", "onnx"} <= kinds and not kinds & {"savedmodel", "tflite"}

    for name in EXAMPLES[framework]:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(tmp_path / "artifacts" / FILES[name], folder)
        np.save(folder / "x.npy", x)
        (folder / "example.py").write_text(example(name))
        helpers.run_script(folder / "example.py", [], folder, timeout=240)
        outputs = np.load(folder / "outputs.npy")
        difference = float(np.abs(outputs - expected).max())
        print(f"{framework} {name}: largest difference {difference:.3g}")
        assert difference < helpers.TOLERANCE, (name, difference)
    if framework == "keras":
        assert (tmp_path / "savedmodel" / "saved_model" / "1" / "saved_model.pb").is_file()  # TF Serving's layout
