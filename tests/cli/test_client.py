"""The layerloom command-line client, run as a process against a live server and a real worker."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_docs_flow import iris_like_csv
from workers.models import TrainingJob

ROOT = Path(__file__).resolve().parents[2]


def layerloom(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAYERLOOM_CONFIG": str(tmp_path / "config.json"), "PYTHONPATH": str(ROOT)}
    env.pop("LAYERLOOM_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "client", *args], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    if check:
        assert result.returncode == 0, f"layerloom {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.django_db(transaction=True)
def test_cli_upload_create_train_follow_download(
    live_server: Any, celery_worker: Any, alice: Any, tmp_path: Path
) -> None:
    layerloom(tmp_path, "--url", live_server.url, "login", "--username", "alice", "--password", "alice-password-1")
    assert oct((tmp_path / "config.json").stat().st_mode & 0o777) == "0o600"

    iris_like_csv(tmp_path / "iris.csv")
    upload = layerloom(tmp_path, "upload", "iris.csv", "--kind", "tabular", "--option", "target_column=species",
                       "--wait")  # fmt: skip
    dataset = json.loads(upload.stdout)
    assert dataset["status"] == "ready", dataset
    assert (
        "100%" not in upload.stderr
    )  # stderr is a pipe here: no progress bar (test_conventions shows it on a terminal)

    spec = {"format": 1, "name": "cli-mlp", "input": {"shape": dataset["input_shape"]},
            "layers": [{"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]}  # fmt: skip
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    report = json.loads(layerloom(tmp_path, "architecture", "validate", "spec.json").stdout)
    assert report["ok"] and report["total_params"] == 4 * 3 + 3
    architecture = json.loads(layerloom(tmp_path, "architecture", "create", "spec.json").stdout)

    train = layerloom(tmp_path, "train", "--architecture", str(architecture["id"]), "--dataset", str(dataset["id"]),
                      "--framework", "torch", "--hp", "epochs=2", "--follow")  # fmt: skip
    job = json.loads(train.stdout)
    assert job["status"] == "succeeded" and "epoch 2:" in train.stderr

    out = layerloom(tmp_path, "download", str(job["id"]), "--kind", "onnx", "-o", "models")
    path = tmp_path / out.stdout.strip()
    artifact = TrainingJob.objects.get(pk=job["id"]).artifacts.get(kind="onnx")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact.sha256


@pytest.mark.django_db(transaction=True)
def test_cli_reports_field_errors_and_exits_1(live_server: Any, alice: Any, tmp_path: Path) -> None:
    layerloom(tmp_path, "--url", live_server.url, "login", "--username", "alice", "--password", "alice-password-1")
    (tmp_path / "bad.json").write_text(json.dumps({"format": 1, "input": {"shape": [4]},
                                                   "layers": [{"id": "o", "type": "Dense", "params": {"units": 0}}]}))  # fmt: skip
    result = layerloom(tmp_path, "architecture", "create", "bad.json", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: HTTP 400") and "spec.o.units:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, each field's problem on it


def test_cli_without_login_says_what_to_do(tmp_path: Path) -> None:
    result = layerloom(tmp_path, "jobs", check=False)
    assert result.returncode == 2 and "layerloom login" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_login_url_after_the_command_as_the_help_shows_and_logout_revokes(
    live_server: Any, alice: Any, tmp_path: Path
) -> None:
    from rest_framework.authtoken.models import Token

    assert "--url URL" in layerloom(tmp_path, "login", "--help").stdout
    layerloom(tmp_path, "login", "--url", live_server.url, "--username", "alice", "--password", "alice-password-1")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["url"] == live_server.url and config["token"] == Token.objects.get(user=alice).key
    assert json.loads(layerloom(tmp_path, "jobs").stdout) == []  # the saved URL and token are used

    out = layerloom(tmp_path, "logout")
    assert "token is revoked" in out.stdout and not Token.objects.filter(user=alice).exists()
    assert "token" not in json.loads((tmp_path / "config.json").read_text())
    assert "layerloom login" in layerloom(tmp_path, "jobs", check=False).stderr
