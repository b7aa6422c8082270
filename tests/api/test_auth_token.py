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
