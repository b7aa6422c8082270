"""POST /api/auth/token/: username and password in, token out; the token authenticates."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_for_good_credentials_works_for_requests(alice: Any) -> None:
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    # The same token comes back on a second call.
    again = client.post("/api/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert again.json()["token"] == token
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/architectures/").status_code == 200


def test_wrong_password_is_400_without_token(alice: Any) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Wrong username or password."
    assert "token" not in response.json()


def test_missing_fields_are_named() -> None:
    body = APIClient().post("/api/auth/token/", {}, format="json").json()
    assert {e["field"] for e in body["errors"]} == {"username", "password"}


def test_no_credentials_is_401_with_challenge() -> None:
    response = APIClient().get("/api/architectures/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_bad_token_is_401() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token deadbeef")
    assert client.get("/api/architectures/").status_code == 401


def test_form_encoded_credentials_work_like_json(alice: Any) -> None:
    # What `curl -d username=alice -d password=...` sends.
    response = APIClient().post(
        "/api/auth/token/", "username=alice&password=alice-password-1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.json()
    wrong = APIClient().post(
        "/api/auth/token/", "username=alice&password=nope", content_type="application/x-www-form-urlencoded"
    )
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["message"] == "Wrong username or password."
    other = APIClient().post("/api/auth/token/", "username=alice", content_type="text/plain")
    assert other.status_code == 415


def _token(username: str, password: str) -> str:
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json").json()[
        "token"
    ]


def test_a_token_can_be_revoked(alice: Any, bob: Any) -> None:
    token, bobs = _token("alice", "alice-password-1"), _token("bob", "bob-password-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete("/api/auth/token/").status_code == 204
    assert client.get("/api/architectures/").status_code == 401
    assert client.delete("/api/auth/token/").status_code == 401  # already gone
    assert APIClient().delete("/api/auth/token/").status_code == 401
    # Bob's token is untouched; Alice gets a new one by logging in again.
    bob_client = APIClient()
    bob_client.credentials(HTTP_AUTHORIZATION=f"Token {bobs}")
    assert bob_client.get("/api/architectures/").status_code == 200
    assert _token("alice", "alice-password-1") != token


def test_a_token_can_be_rotated(alice: Any) -> None:
    token = _token("alice", "alice-password-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/auth/token/rotate/")
    assert response.status_code == 200 and response.json()["username"] == "alice"
    new = response.json()["token"]
    assert new != token and client.get("/api/architectures/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert client.get("/api/architectures/").status_code == 200
    assert APIClient().post("/api/auth/token/rotate/").status_code == 401
