"""Architectures through the API: create, list, read, update, delete, validate, codegen."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture

pytestmark = pytest.mark.django_db


def test_create_from_json_and_read_back(alice_api: Any, alice: Any, mlp_spec: dict[str, Any]) -> None:
    response = alice_api.post("/api/architectures/", {"spec": mlp_spec}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "mlp"  # defaults to the spec's name
    assert Architecture.objects.get(pk=body["id"]).owner == alice
    assert alice_api.get(f"/api/architectures/{body['id']}/").json()["spec"] == mlp_spec


def test_invalid_spec_reports_every_error_with_layer_and_param(alice_api: Any, mlp_spec: dict[str, Any]) -> None:
    mlp_spec["layers"][0]["params"]["units"] = -3
    mlp_spec["layers"][1]["type"] = "Nope"
    response = alice_api.post("/api/architectures/", {"name": "bad", "spec": mlp_spec}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert {e["field"] for e in body["errors"]} == {"spec"}
    assert any(e["layer_id"] == "hidden1" and e["param"] == "units" for e in body["errors"])
    assert any(e["code"] == "unknown_type" for e in body["errors"])
    assert not Architecture.objects.exists()


def test_missing_field_is_named(alice_api: Any) -> None:
    body = alice_api.post("/api/architectures/", {"name": "x"}, format="json").json()
    assert body["errors"] == [{"field": "spec", "code": "required", "message": "This field is required."}]
    assert body["message"] == "spec: This field is required."


def test_list_is_paginated_and_only_mine(alice_api: Any, alice_architecture: Any, bob: Any, mlp_spec: Any) -> None:
    Architecture.objects.create(owner=bob, name="bobs", spec=mlp_spec)
    body = alice_api.get("/api/architectures/").json()
    assert body["count"] == 1
    assert [a["name"] for a in body["results"]] == ["alice-mlp"]


def test_update_and_partial_update(alice_api: Any, alice_architecture: Any, mlp_spec: dict[str, Any]) -> None:
    url = f"/api/architectures/{alice_architecture.pk}/"
    assert alice_api.patch(url, {"name": "renamed"}, format="json").json()["name"] == "renamed"
    mlp_spec["layers"][0]["params"]["units"] = 8
    response = alice_api.put(url, {"name": "again", "spec": mlp_spec}, format="json")
    assert response.status_code == 200
    alice_architecture.refresh_from_db()
    assert alice_architecture.spec["layers"][0]["params"]["units"] == 8


def test_bad_update_changes_nothing(alice_api: Any, alice_architecture: Any, mlp_spec: dict[str, Any]) -> None:
    mlp_spec["layers"] = []
    response = alice_api.put(f"/api/architectures/{alice_architecture.pk}/", {"name": "x", "spec": mlp_spec},
                             format="json")  # fmt: skip
    assert response.status_code == 400
    alice_architecture.refresh_from_db()
    assert alice_architecture.name == "alice-mlp"


def test_delete(alice_api: Any, alice_architecture: Any) -> None:
    assert alice_api.delete(f"/api/architectures/{alice_architecture.pk}/").status_code == 204
    assert not Architecture.objects.exists()


def test_validate_stored_architecture_report(alice_api: Any, alice_architecture: Any) -> None:
    body = alice_api.get(f"/api/architectures/{alice_architecture.pk}/validate/?batch_size=64").json()
    assert body["ok"] is True and body["batch_size"] == 64
    assert [layer["id"] for layer in body["layers"]] == ["hidden1", "drop1", "hidden2", "out"]
    assert body["total_params"] == 16 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3


def test_validate_unsaved_spec(alice_api: Any, mlp_spec: dict[str, Any]) -> None:
    ok = alice_api.post("/api/architectures/validate/", {"spec": mlp_spec}, format="json")
    assert ok.status_code == 200 and ok.json()["output_shape"] == [3]
    mlp_spec["layers"][0]["params"]["bogus"] = 1
    bad = alice_api.post("/api/architectures/validate/", {"spec": mlp_spec}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["param"] == "bogus"
    assert not Architecture.objects.exists()


@pytest.mark.parametrize("framework, needle", [("keras", "def build_model"), ("torch", "nn.Module")])
def test_codegen(alice_api: Any, alice_architecture: Any, framework: str, needle: str) -> None:
    response = alice_api.get(f"/api/architectures/{alice_architecture.pk}/codegen/?framework={framework}")
    assert response.status_code == 200
    assert response.json()["framework"] == framework
    assert needle in response.json()["source"]


def test_codegen_rejects_unknown_framework(alice_api: Any, alice_architecture: Any) -> None:
    response = alice_api.get(f"/api/architectures/{alice_architecture.pk}/codegen/?framework=jax")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "framework"


def test_layers_and_presets(alice_api: Any) -> None:
    layers = alice_api.get("/api/layers/").json()
    dense = next(layer for layer in layers if layer["type"] == "Dense")
    assert "units" in dense["json_schema"]["properties"]
    presets = alice_api.get("/api/presets/").json()
    assert {"mlp", "lenet5"} <= {p["key"] for p in presets}
    # A preset's spec is accepted as it is.
    spec = next(p["spec"] for p in presets if p["key"] == "lenet5")
    assert alice_api.post("/api/architectures/", {"spec": spec}, format="json").status_code == 201


def test_anonymous_is_refused_with_the_error_shape(client: Any) -> None:
    response = client.get("/api/architectures/")
    assert response.status_code in (401, 403)
    assert response.json()["errors"][0]["field"] is None


def test_unknown_api_path_is_json_404(alice_api: Any) -> None:
    response = alice_api.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
