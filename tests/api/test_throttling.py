"""Per-user throttling: one user's burst does not slow another user down."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connections

from api.throttles import UserThrottle

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


def throttle_at(scope_rate: str, settings: Any, moment: float) -> UserThrottle:
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "user": scope_rate}
    throttle = UserThrottle()
    throttle.timer = lambda: moment  # type: ignore[method-assign]
    return throttle


def test_the_window_slides_the_last_minutes_requests_out_gradually(alice: Any, settings: Any) -> None:
    request = SimpleNamespace(user=alice)
    minute = (int(time.time()) // 60 + 1) * 60  # the start of a window
    late = throttle_at("10/minute", settings, minute - 1)
    assert [late.allow_request(request, None) for _ in range(11)] == [True] * 10 + [False]
    assert 0 < late.wait() <= 120
    # Half-way through the next window, half of the last one's ten still count: five more fit.
    halfway = throttle_at("10/minute", settings, minute + 30)
    assert [halfway.allow_request(request, None) for _ in range(6)] == [True] * 5 + [False]
    # A refused request is not counted: as the next window starts, the five just let through
    # count in full (six if the refused one had counted), and five more fit.
    end = throttle_at("10/minute", settings, minute + 60)
    assert [end.allow_request(request, None) for _ in range(6)] == [True] * 5 + [False]


@pytest.mark.django_db(transaction=True)
def test_requests_arriving_at_once_get_exactly_the_rate(alice: Any, settings: Any) -> None:
    """DRF's own throttle read and rewrote a list per request: concurrent requests were lost
    from it and a burst went past the rate."""
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "user": "40/day"}
    threads, each = 8, 10
    start = threading.Barrier(threads)
    request = SimpleNamespace(user=alice)

    def client(_: int) -> list[bool]:
        try:
            start.wait()
            return [UserThrottle().allow_request(request, None) for _ in range(each)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(threads) as pool:
        answers = [answer for batch in pool.map(client, range(threads)) for answer in batch]
    assert answers.count(True) == 40
