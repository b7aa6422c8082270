"""The OpenAPI schema is complete, and the interactive docs load from local static files."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3_with_every_operation(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    for expected in [
        ("/api/auth/token/", "post"), ("/api/auth/token/", "delete"), ("/api/auth/token/rotate/", "post"),
        ("/api/usage/", "get"), ("/api/jobs/{id}/", "delete"), ("/api/datasets/{id}/", "delete"), ("/api/architectures/", "post"), ("/api/architectures/validate/", "post"),
        ("/api/architectures/{id}/codegen/", "get"), ("/api/datasets/", "post"), ("/api/jobs/", "post"),
        ("/api/jobs/{id}/metrics/", "get"), ("/api/jobs/{id}/cancel/", "post"), ("/api/jobs/{id}/retry/", "post"),
        ("/api/jobs/{id}/artifacts/{artifact_id}/", "get"), ("/api/layers/", "get"), ("/api/presets/", "get"),
    ]:  # fmt: skip
        assert expected in operations


def test_every_operation_documents_its_bodies(schema: dict[str, Any]) -> None:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, f"{method} {path} has no success response"
            for code in success:
                if code != "204":
                    assert responses[code].get("content"), f"{method} {path} {code} has no body schema"
            if method in ("post", "put", "patch") and not path.endswith(("/cancel/", "/retry/", "/retrain/", "/rotate/")):
                assert operation.get("requestBody"), f"{method} {path} has no request body"
            if path != "/api/auth/token/":
                assert "401" in responses, f"{method} {path} does not document 401"


def test_errors_share_one_schema(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"status", "code", "message", "errors"}
    refs = {
        response["content"]["application/json"]["schema"].get("$ref")
        for item in schema["paths"].values()
        for operation in item.values()
        for code, response in operation["responses"].items()
        if code.startswith(("4", "5"))
    }
    assert refs == {"#/components/schemas/Error"}


def test_token_auth_is_documented(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["tokenAuth"]["type"] == "apiKey"


def test_docs_page_uses_packaged_static_files_only() -> None:
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"), asset


def test_json_fields_are_typed_with_real_examples(schema: dict[str, Any]) -> None:
    from builder.datasets.options import validate_options
    from builder.spec import validate_spec

    components = schema["components"]["schemas"]
    dataset, job = components["Dataset"]["properties"], components["Job"]["properties"]
    for props, name in [(dataset, "options"), (dataset, "profile"), (job, "spec"), (job, "evaluation"),
                        (components["Architecture"]["properties"], "spec"),
                        (components["ArchitectureRequest"]["properties"], "spec"),
                        (components["JobCreateRequest"]["properties"], "spec"),
                        (components["ValidateRequestRequest"]["properties"], "spec")]:  # fmt: skip
        assert props[name]["type"] == "object" and isinstance(props[name]["example"], dict), name
    assert dataset["input_shape"]["items"] == {"type": "integer"} and dataset["input_shape"]["example"] == [4]
    assert dataset["class_names"]["items"] == {"type": "string"}
    # The examples are real: the spec validates, the options are what ingestion would store.
    assert validate_spec(job["spec"]["example"]).ok
    example = dataset["options"]["example"]
    assert validate_options("tabular", {"target_column": example["target_column"]}) == example
    assert dataset["profile"]["example"]["splits"] == {"train": 120, "val": 15, "test": 15}


def test_no_property_is_left_untyped(schema: dict[str, Any]) -> None:
    """An untyped property is `Any` to a generated client and `"string"` in Swagger's examples."""

    def walk(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            return
        for name, prop in (node.get("properties") or {}).items():
            assert any(k in prop for k in ("type", "$ref", "allOf", "oneOf", "anyOf")), f"{where}.{name} is untyped"
            walk(prop, f"{where}.{name}")
        walk(node.get("items"), f"{where}[]")

    for name, component in schema["components"]["schemas"].items():
        walk(component, name)
