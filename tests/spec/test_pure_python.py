"""builder.spec and builder.codegen never import TensorFlow, Keras, torch or Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from builder.spec import layer_catalog, presets, validate_spec
from builder.spec.docs import render_architecture_docs
from builder.codegen import (generate_keras, generate_predict_script, generate_torch,
    generate_train_script, torch_input_permutation)
from builder.codegen.guard import check_source, SCRIPT_POLICY
for spec in presets().values():
    assert validate_spec(spec).ok
    check_source(generate_keras(spec))
    check_source(generate_torch(spec))
    torch_input_permutation(spec)
    for framework in ("keras", "torch"):
        check_source(generate_train_script(spec, framework), SCRIPT_POLICY)
        check_source(generate_predict_script(spec, framework), SCRIPT_POLICY)
layer_catalog()
render_architecture_docs()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"tensorflow", "keras", "torch", "django", "numpy"})
print(",".join(loaded))
"""


def test_no_framework_modules_after_use() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported: {result.stdout.strip()}"
