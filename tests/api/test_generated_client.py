"""A Python client generated from /api/schema/ with openapi-python-client (the pinned one)
imports whole and runs the flow against a live server and a real worker: token, upload,
architecture, job, metrics, artifacts, logs, predict.

The generator runs offline here (installed with the test requirements) and takes about
1.5 s; the test fails if it ever takes more than GENERATE_SECONDS.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import pkgutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from tests.api.test_docs_flow import iris_like_csv
from workers.models import TrainingJob

# Whether a generated client fits the schema does not depend on the database or broker.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]
GENERATE_SECONDS = 30  # measured 1.5 s; minutes would mean the generator reached for the network
PACKAGE = "layerloom_client"


def generate(schema: Path, out: Path) -> float:
    config = out.parent / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated files: nothing to install
    command = [str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--path", str(schema),
               "--meta", "none", "--output-path", str(out), "--config", str(config)]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # every operation generated, none left out
    return elapsed


@pytest.fixture
def generated(live_server: Any, tmp_path: Path) -> Iterator[Any]:
    """The generated package, imported module by module (every one must import)."""
    schema = tmp_path / "schema.yaml"
    schema.write_bytes(httpx.get(f"{live_server.url}/api/schema/").raise_for_status().content)
    validate(yaml.safe_load(schema.read_text()))  # valid OpenAPI 3
    elapsed = generate(schema, tmp_path / PACKAGE)
    assert elapsed < GENERATE_SECONDS, f"generating the client took {elapsed:.1f} s"
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            importlib.import_module(module.name)
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def wait(call: Any, done: Any, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_generated_client_runs_the_whole_flow(
    generated: Any, live_server: Any, celery_worker: Any, alice: Any, tmp_path: Path
) -> None:
    from layerloom_client import AuthenticatedClient, Client
    from layerloom_client.api.architectures import architectures_create
    from layerloom_client.api.auth import auth_token_create
    from layerloom_client.api.datasets import datasets_create, datasets_retrieve
    from layerloom_client.api.jobs import (
        jobs_artifacts_list,
        jobs_artifacts_retrieve,
        jobs_create,
        jobs_logs_retrieve,
        jobs_metrics_retrieve,
        jobs_predict_create,
        jobs_retrieve,
    )
    from layerloom_client.models import (
        ArchitectureRequest,
        DatasetUploadRequest,
        DatasetUploadRequestOptions,
        JobCreateRequest,
        KindEnum,
        PredictRequestRequest,
        TokenRequestRequest,
    )
    from layerloom_client.types import File

    anonymous = Client(base_url=live_server.url, raise_on_unexpected_status=True)
    token = auth_token_create.sync(client=anonymous, body=TokenRequestRequest(username="alice",
                                                                              password="alice-password-1"))  # fmt: skip
    assert token.username == "alice", token
    client = AuthenticatedClient(base_url=live_server.url, token=token.token, prefix="Token",
                                 raise_on_unexpected_status=True, timeout=httpx.Timeout(60))  # fmt: skip

    iris_like_csv(tmp_path / "iris.csv")
    upload = DatasetUploadRequest(
        file=File(payload=io.BytesIO((tmp_path / "iris.csv").read_bytes()), file_name="iris.csv", mime_type="text/csv"),
        kind=KindEnum.TABULAR, name="iris", options=DatasetUploadRequestOptions.from_dict({"target_column": "species"}),
    )  # fmt: skip
    dataset = datasets_create.sync(client=client, body=upload)
    dataset = wait(lambda: datasets_retrieve.sync(dataset.id, client=client), lambda d: d.status in ("ready", "failed"))
    assert dataset.status == "ready", (dataset.error, celery_worker.log()[-3000:])

    spec = {"format": 1, "name": "iris-mlp", "input": {"shape": dataset.input_shape},
            "layers": [{"id": "hidden", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
                       {"id": "out", "type": "Dense", "params": {"units": dataset.num_classes, "activation": "softmax"}}]}  # fmt: skip
    architecture = architectures_create.sync(client=client, body=ArchitectureRequest.from_dict({"spec": spec}))
    assert architecture.spec.to_dict()["name"] == "iris-mlp"

    body = JobCreateRequest.from_dict({"architecture": architecture.id, "dataset": dataset.id, "framework": "keras",
                                       "hyperparameters": {"epochs": 2, "patience": None, "device": "cpu"}})  # fmt: skip
    job = jobs_create.sync(client=client, body=body)
    job = wait(lambda: jobs_retrieve.sync(job.id, client=client), lambda j: j.status in ("succeeded", "failed"))
    assert job.status == "succeeded", (job.error, celery_worker.log()[-3000:])

    metrics = jobs_metrics_retrieve.sync(job.id, client=client)
    assert [row.epoch for row in metrics.results] == [1, 2]
    assert "val_loss" in metrics.results[-1].values.to_dict()

    artifacts = {a.kind: a for a in jobs_artifacts_list.sync(job.id, client=client)}
    onnx = jobs_artifacts_retrieve.sync(job.id, artifacts["onnx"].id, client=client)
    assert hashlib.sha256(onnx.payload.read()).hexdigest() == artifacts["onnx"].sha256

    logs = jobs_logs_retrieve.sync(client=client, ids=str(job.id))
    names = zipfile.ZipFile(io.BytesIO(logs.payload.read())).namelist()
    assert any(name.startswith(f"layerloom-logs/job-{job.id}-keras-iris/validation/") for name in names), names

    row = {"sepal_length": 0.1, "sepal_width": 0.2, "petal_length": 0.0, "petal_width": 0.1}
    answer = jobs_predict_create.sync(job.id, client=client, body=PredictRequestRequest.from_dict({"rows": [row]}))
    assert answer.predictions[0].label in {"setosa", "versicolor", "virginica"}
    assert TrainingJob.objects.get(pk=job.id).owner == alice
