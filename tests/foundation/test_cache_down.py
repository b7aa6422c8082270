"""The cache that holds the sign-in and throttle counters cannot be reached (Redis down).

Sign-in is refused, not checked uncounted (that would give a guesser unlimited tries): the
token endpoint answers 503, the login form and the admin's say so on the form. The API's rate
limits are fairness, not a lock: requests are still answered.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.support.redis_server import free_port

pytestmark = pytest.mark.django_db

UNAVAILABLE = "Sign-in is unavailable for a moment"


@pytest.fixture
def cache_down(settings: Any) -> None:
    """The cache is a Redis on a loopback port where nothing listens (a refused connection)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}  # fmt: skip


def test_the_token_endpoint_refuses_with_503_and_checks_no_password(alice: Any, cache_down: None) -> None:
    for password in ("wrong", "alice-password-1"):  # the right one too: it is not checked
        response = APIClient().post("/api/auth/token/", {"username": "alice", "password": password}, format="json")
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "unavailable" and UNAVAILABLE in response.json()["message"]
        assert response["Retry-After"] == "30"


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_forms_say_sign_in_is_unavailable(alice: Any, cache_down: None, path: str) -> None:
    alice.is_staff = True
    alice.save()
    response = Client().post(path, {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 200 and UNAVAILABLE in response.content.decode()  # the form again, with why
    assert "_auth_user_id" not in Client().session


def test_the_api_still_answers_without_its_rate_counters(alice: Any, settings: Any, cache_down: None) -> None:
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "user": "1/minute"}
    api = APIClient()
    api.force_authenticate(alice)
    for _ in range(3):  # over the limit of one a minute: not counted, so not refused
        assert api.get("/api/datasets/").status_code == 200
