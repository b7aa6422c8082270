"""API fixtures: token clients for alice and bob, objects each of them owns."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from builder.spec import presets
from tests.support.cache import clear_cache


@pytest.fixture(autouse=True)
def _fresh_throttles(django_db_setup: None, django_db_blocker: Any) -> Any:
    """Throttle counters live in the cache (a table of the test database, or Redis); no test inherits another's."""
    with django_db_blocker.unblock():
        clear_cache()
    yield
    with django_db_blocker.unblock():
        clear_cache()


def token_client(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def alice_api(alice: Any) -> APIClient:
    return token_client(alice)


@pytest.fixture
def bob_api(bob: Any) -> APIClient:
    return token_client(bob)


@pytest.fixture
def mlp_spec() -> dict[str, Any]:
    return copy.deepcopy(presets()["mlp"])


@pytest.fixture
def alice_architecture(alice: Any, mlp_spec: dict[str, Any]) -> Any:
    from builder.models import Architecture

    return Architecture.objects.create(owner=alice, name="alice-mlp", spec=mlp_spec)


@pytest.fixture
def alice_dataset(alice: Any) -> Any:
    """A ready tabular dataset row (16 features, 3 classes) that matches the mlp preset."""
    from builder.models import Dataset

    return Dataset.objects.create(
        owner=alice, name="alice-table", kind="tabular", status="ready", sha256="0" * 64, size_bytes=10,
        task="classification", input_shape=[16], num_classes=3, class_names=["a", "b", "c"],
    )  # fmt: skip


def make_job(owner: Any, dataset: Any, architecture: Any = None, status: str = "queued", **fields: Any) -> Any:
    """A job row as a worker would leave it, without running one."""
    from workers.models import TrainingJob

    spec = architecture.spec if architecture is not None else presets()["mlp"]
    return TrainingJob.objects.create(
        owner=owner, architecture=architecture, spec=spec, dataset=dataset, dataset_version=dataset.version,
        framework="keras", hyperparameters={"epochs": 2}, status=status, total_epochs=2, **fields,
    )  # fmt: skip


def add_artifact(job: Any, filename: str = "model.onnx", content: bytes = b"onnx-bytes") -> Any:
    import hashlib

    from workers.models import Artifact

    job.artifacts_dir.mkdir(parents=True, exist_ok=True)
    (job.artifacts_dir / filename).write_bytes(content)
    relative = (job.artifacts_dir / filename).relative_to(settings.LAYERLOOM_DATA_ROOT)
    return Artifact.objects.create(
        job=job, kind=filename.rsplit(".", 1)[-1], filename=filename, path=str(relative), size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )  # fmt: skip


@pytest.fixture
def alice_job(alice: Any, alice_dataset: Any, alice_architecture: Any) -> Any:
    """A finished job with metrics and an ONNX artifact."""
    from workers.models import Metric

    job = make_job(alice, alice_dataset, alice_architecture, status="succeeded", epoch=2, percent=100.0)
    for epoch in (1, 2):
        Metric.objects.create(job=job, epoch=epoch, step=epoch * 10, values={"loss": 1.0 / epoch})
    add_artifact(job)
    return job
