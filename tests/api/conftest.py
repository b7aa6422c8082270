"""API fixtures: token clients for alice and bob, objects each of them owns."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from builder.spec import presets


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Any:
    """Throttle counters live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


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
