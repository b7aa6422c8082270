"""Per-user throttling: one user's burst does not slow another user down."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_user_rate_is_per_user(alice_api: Any, bob_api: Any, settings: Any) -> None:
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "user": "3/minute"}
    assert [alice_api.get("/api/layers/").status_code for _ in range(3)] == [200, 200, 200]
    response = alice_api.get("/api/architectures/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
    assert bob_api.get("/api/architectures/").status_code == 200


def test_submit_rate_counts_only_submissions(
    alice_api: Any, alice_architecture: Any, alice_dataset: Any, settings: Any
) -> None:
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "submit": "1/hour"}
    settings.LAYERLOOM_TRAINING_QUEUE = "api-tests-unconsumed"
    body = {"architecture": alice_architecture.pk, "dataset": alice_dataset.pk, "framework": "keras"}
    assert alice_api.post("/api/jobs/", body, format="json").status_code == 201
    assert alice_api.post("/api/jobs/", body, format="json").status_code == 429
    assert alice_api.get("/api/jobs/").status_code == 200  # reading is not a submission


def test_token_endpoint_limits_password_guessing(alice: Any, settings: Any) -> None:
    from rest_framework.test import APIClient

    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "auth": "2/minute"}
    client = APIClient()
    codes = [client.post("/api/auth/token/", {"username": "alice", "password": f"guess{i}"}).status_code
             for i in range(3)]  # fmt: skip
    assert codes == [400, 400, 429]
