"""The web process and a worker's parent process never import TensorFlow, torch or librosa.

They would cost memory and start-up time in every web process, and CUDA initialised in a
worker's parent breaks the children it forks. librosa loads numba (and compiles on first use):
the web side computes audio features with numpy and scipy, and only ingestion asks librosa for
the mel filterbank. requirements/web.txt installs none of them
(tests/foundation/test_web_without_frameworks.py serves the site with that install alone).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("tensorflow", "keras", "torch", "jax", "tensorboard", "librosa", "numba", "optuna")

WEB = """
import sys, django
django.setup()
from django.test import Client
from django.urls import get_resolver
get_resolver().url_patterns  # imports every view module
import serving.admin, serving.endpoints, serving.inputs, serving.predict, serving.sessions  # ONNX Runtime only
import builder.datasets.kinds.audio.features  # audio predictions: numpy and scipy only
Client().get("/accounts/login/")
print(sorted({m.split('.')[0] for m in sys.modules} & set(FRAMEWORKS)))
"""

WORKER_PARENT = """
import sys
from webapp.celery import app
app.loader.import_default_modules()  # what `celery worker` imports before forking
app.finalize()
print(sorted(app.tasks.keys()))
print(sorted({m.split('.')[0] for m in sys.modules} & set(FRAMEWORKS)))
"""


def run(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"FRAMEWORKS = {FRAMEWORKS!r}\n{code}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"DJANGO_SETTINGS_MODULE": "webapp.settings.test", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_web_process_imports_no_framework():
    assert run(WEB)[-1] == "[]"


def test_worker_parent_imports_no_framework():
    lines = run(WORKER_PARENT)
    assert "webapp.ping" in lines[0]
    assert "workers.train_job" in lines[0], "the training task must be registered in the parent"
    assert lines[-1] == "[]"
