"""docs/api.md's Python example, run as a script against a live server and a real worker.

Upload a CSV, create an architecture from JSON, start a job, poll it, download the ONNX
model: the example is read from the docs, so the docs cannot drift from the API.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.datasets.factories import class_table
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def iris_like_csv(path: Path, rows: int = 150, seed: int = 0) -> None:
    """Four numeric features and three learnable species."""
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    path.write_bytes(class_table(rows, seed, names=names, classes=["setosa", "versicolor", "virginica"]))


def python_example() -> str:
    text = DOCS.read_text()
    match = re.search(r"<!-- example: python-flow.*?-->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/api.md lost its python-flow example"
    return match.group(1)


def test_python_example_from_the_docs_runs(live_server: Any, celery_worker: Any, alice: Any, tmp_path: Path) -> None:
    iris_like_csv(tmp_path / "iris.csv")
    script = tmp_path / "flow.py"
    script.write_text(python_example())
    env = {**os.environ, "LAYERLOOM_URL": live_server.url, "LAYERLOOM_USERNAME": "alice",
           "LAYERLOOM_PASSWORD": "alice-password-1"}  # fmt: skip
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{celery_worker.log()[-3000:]}"
    assert "epoch 3:" in result.stdout and "saved model.onnx" in result.stdout
    job = TrainingJob.objects.get(owner=alice)
    assert job.status == "succeeded"
    onnx = job.artifacts.get(kind="onnx")
    assert (tmp_path / "model.onnx").read_bytes() == onnx.absolute_path.read_bytes()
