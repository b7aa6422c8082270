"""Any malformed body, however deep, large or mistyped, is a 4xx in the API's error shape.

The routes are read from the URL configuration (as in test_isolation.py), so a new
endpoint that takes a body is fuzzed without being listed here. Bodies that once gave a
RecursionError 500 are among them; tests/api/test_schemathesis.py adds schemathesis's
negative mode on top.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import make_job
from tests.api.test_isolation import api_routes, fill, methods_of

pytestmark = pytest.mark.django_db

DEEP = 5000


def nested_list(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_object(depth: int, key: str = "a") -> bytes:
    return f'{{"{key}":'.encode() * depth + b"1" + b"}" * depth


BODIES: dict[str, bytes] = {
    "deep list": nested_list(DEEP),
    "deep object": nested_object(DEEP),
    "deeper than the limit, not recursion-deep": nested_list(200),
    "deep list in a field": b'{"username": "a", "password": "b", "name": "n", "spec": ' + nested_list(DEEP) + b"}",
    "deep object in a field": b'{"spec": ' + nested_object(DEEP) + b', "architecture": ' + nested_object(DEEP) + b"}",
    "deep hyperparameters": b'{"hyperparameters": ' + nested_object(DEEP) + b"}",
    "huge float": b'{"spec": {"format": 1e999}, "hyperparameters": {"epochs": 1e999}, "username": 1e999}',
    "integer past the digit limit": b'{"architecture": ' + b"9" * 5000 + b"}",
    "huge integer": b'{"architecture": ' + b"9" * 400 + b', "dataset": ' + b"9" * 400
    + b', "hyperparameters": {"epochs": ' + b"9" * 400 + b', "batch_size": ' + b"9" * 400 + b"}}",
    "NaN": b'{"hyperparameters": {"learning_rate": NaN}, "spec": NaN}',
    "invalid UTF-8": b'{"username": "\xff\xfe\xfa", "name": "\xc3\x28"}',
    "lone surrogate escape": b'{"username": "\\ud800", "name": "a\\udfffb", "password": "\\ud800"}',
    "top-level list": b"[1, 2, 3]",
    "top-level string": b'"hello"',
    "top-level null": b"null",
    "wrong types": b'{"username": {"a": 1}, "password": [1], "name": [], "spec": "text", "architecture": "x",'
    b' "dataset": {"id": 1}, "framework": 7, "hyperparameters": [1, 2], "preset": {"x": 1}}',
    "truncated": b'{"username": "a", "pass',
    "empty": b"",
}

# Routes whose views read the body: these must answer exactly 400.
READS_BODY = {"/api/auth/token/", "/api/architectures/", "/api/architectures/validate/", "/api/jobs/",
              "/api/datasets/demo/", "/api/architectures/{pk}/"}  # fmt: skip


def body_routes(ids: dict[str, int]) -> list[tuple[str, str, str]]:
    routes = []
    for route, pattern in api_routes():
        for method in methods_of(pattern):
            if method in ("post", "put", "patch"):
                generic = route.replace("(?P<pk>[^/.]+)", "{pk}").replace("\\", "")
                routes.append((method, fill(route, ids), generic))
    # Rotating replaces the caller's token: send that one last, so the others still authenticate.
    return sorted(routes, key=lambda route: route[2] == "/api/auth/token/rotate/")


def assert_error_shape(response: Any, where: str) -> None:
    assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.content[:300]!r}"
    body = response.json()
    assert set(body) == {"status", "code", "message", "errors"}, where
    assert body["status"] == response.status_code
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    assert len(response.content) < 5000, f"{where}: the message echoes the body back"


@pytest.mark.parametrize("name", list(BODIES))
def test_every_body_route_answers_a_malformed_body_with_a_4xx(
    name: str, alice_api: APIClient, alice_architecture: Any, alice_dataset: Any, settings: Any
) -> None:
    settings.LAYERLOOM_API_THROTTLE_RATES = {key: None for key in settings.LAYERLOOM_API_THROTTLE_RATES}
    settings.LAYERLOOM_TRAINING_QUEUE = "api-tests-unconsumed"
    job = make_job(alice_architecture.owner, alice_dataset, alice_architecture, status="failed")
    ids = {"pk": alice_architecture.pk, "artifact_id": 1, "name": "no-such-endpoint"}
    routes = body_routes(ids)
    assert len(routes) >= 8
    for method, path, generic in routes:
        if generic.startswith("/api/jobs/{pk}/"):
            path = path.replace(f"/{alice_architecture.pk}/", f"/{job.pk}/")
        response = getattr(alice_api, method)(path, BODIES[name], content_type="application/json")
        where = f"{method.upper()} {path} with {name}"
        # A PATCH may rightly ignore fields it does not know; every other body-reading route must say 400.
        if generic in READS_BODY and method != "patch":
            assert response.status_code == 400, f"{where}: {response.status_code} {response.content[:300]!r}"
        if response.status_code >= 400:
            assert_error_shape(response, where)
        else:
            assert response.status_code < 300, where


@pytest.mark.parametrize("options", [nested_list(DEEP).decode(), nested_object(DEEP).decode(), "[1]", "1e999",
                                     '{"label": NaN}', "{", "9" * 5000])  # fmt: skip
def test_upload_options_that_are_not_a_json_object_are_named(options: str, alice_api: APIClient) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("t.csv", b"a,label\n1,x\n2,y\n", content_type="text/csv")
    response = alice_api.post("/api/datasets/", {"file": upload, "kind": "tabular", "options": options},
                              format="multipart")  # fmt: skip
    assert response.status_code == 400, response.content[:300]
    assert_error_shape(response, "upload options")
    assert response.json()["errors"][0]["field"] == "options"


def test_the_depth_message_names_the_limit(alice_api: APIClient) -> None:
    response = alice_api.post("/api/architectures/validate/", nested_list(DEEP), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "JSON nested too deeply: at most 64 levels are accepted."


def test_a_spec_at_a_sane_depth_still_validates(alice_api: APIClient, mlp_spec: dict[str, Any]) -> None:
    response = alice_api.post("/api/architectures/validate/", json.dumps({"spec": mlp_spec}),
                              content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.content[:300]


def test_a_spec_that_is_not_an_object_is_a_400_with_the_layers_report(alice_api: APIClient) -> None:
    response = alice_api.post("/api/architectures/validate/", json.dumps({"spec": []}), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    # The error shape, plus what the validate endpoint documents beside it: the report of what could be checked.
    assert set(body) == {"status", "code", "message", "errors", "report"} and body["errors"], body
