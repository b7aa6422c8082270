"""Session-authenticated unsafe requests need a CSRF token; token clients do not."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from builder.models import Architecture

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_client(alice: Any) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password="alice-password-1")
    return client


def test_session_post_without_csrf_token_is_403(session_client: APIClient, mlp_spec: dict[str, Any]) -> None:
    response = session_client.post("/api/architectures/", {"spec": mlp_spec}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert not Architecture.objects.exists()


def test_session_delete_without_csrf_token_is_403(session_client: APIClient, alice_architecture: Any) -> None:
    assert session_client.delete(f"/api/architectures/{alice_architecture.pk}/").status_code == 403
    assert Architecture.objects.filter(pk=alice_architecture.pk).exists()


def test_session_post_with_csrf_token_works(session_client: APIClient, mlp_spec: dict[str, Any]) -> None:
    session_client.get("/accounts/login/")  # sets the csrftoken cookie, as any page does
    token = session_client.cookies["csrftoken"].value
    response = session_client.post("/api/architectures/", {"spec": mlp_spec}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_session_get_needs_no_token(session_client: APIClient) -> None:
    assert session_client.get("/api/architectures/").status_code == 200


def test_token_client_is_unaffected(alice: Any, mlp_spec: dict[str, Any]) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    assert client.post("/api/architectures/", {"spec": mlp_spec}, format="json").status_code == 201
