"""Presets fitted to a dataset through the API, and the builder's calls for unsaved specs."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture, Dataset
from builder.spec import presets, validate_spec

pytestmark = pytest.mark.django_db


def test_presets_for_a_dataset_are_the_ones_that_suit_it_fitted(alice_api: Any, alice_dataset: Any) -> None:
    alice_dataset.input_shape = [5]
    alice_dataset.save()
    body = alice_api.get(f"/api/presets/?dataset={alice_dataset.pk}").json()
    assert [p["key"] for p in body] == ["mlp"]
    spec = body[0]["spec"]
    assert spec["input"]["shape"] == [5] and spec["layers"][-1]["params"]["units"] == 3
    assert validate_spec(spec).ok
    assert len(alice_api.get("/api/presets/").json()) == len(presets())  # without a dataset: all, as published


def test_presets_for_a_dataset_not_ready_or_not_mine(alice_api: Any, bob_api: Any, alice_dataset: Any) -> None:
    assert bob_api.get(f"/api/presets/?dataset={alice_dataset.pk}").status_code == 404
    alice_dataset.status = Dataset.Status.PROCESSING
    alice_dataset.save()
    response = alice_api.get(f"/api/presets/?dataset={alice_dataset.pk}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "dataset" and "not ready" in response.json()["message"]
    assert alice_api.get("/api/presets/?dataset=abc").status_code == 400


def test_create_an_architecture_from_a_fitted_preset(alice_api: Any, alice: Any, alice_dataset: Any) -> None:
    response = alice_api.post("/api/architectures/", {"preset": "mlp", "dataset": alice_dataset.pk}, format="json")
    assert response.status_code == 201, response.json()
    created = Architecture.objects.get(pk=response.json()["id"], owner=alice)
    assert created.name == "mlp for alice-table"
    assert created.spec["input"]["shape"] == [16]
    named = alice_api.post(
        "/api/architectures/", {"preset": "mlp", "dataset": alice_dataset.pk, "name": "mine"}, format="json"
    )
    assert named.json()["name"] == "mine"


def test_a_preset_that_does_not_suit_or_a_dataset_of_someone_else(
    alice_api: Any, bob_api: Any, alice_dataset: Any
) -> None:
    wrong = alice_api.post("/api/architectures/", {"preset": "lenet5", "dataset": alice_dataset.pk}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "preset" and "presets that do: mlp" in wrong.json()["message"]
    missing = alice_api.post("/api/architectures/", {"preset": "mlp"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "dataset"
    theirs = bob_api.post("/api/architectures/", {"preset": "mlp", "dataset": alice_dataset.pk}, format="json")
    assert theirs.status_code == 404 and theirs.json()["errors"][0]["field"] == "dataset"
    assert not Architecture.objects.exists()


def test_validate_answers_every_error_and_the_shapes_it_could_infer(alice_api: Any, mlp_spec: dict) -> None:
    mlp_spec["layers"][1]["params"]["rate"] = 3
    mlp_spec["layers"][3]["params"]["units"] = 0
    response = alice_api.post("/api/architectures/validate/", {"spec": mlp_spec}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert {(e["layer_id"], e["param"]) for e in body["errors"]} == {("drop1", "rate"), ("out", "units")}
    assert [layer["id"] for layer in body["report"]["layers"]] == ["hidden1"]
    assert body["report"]["layers"][0]["output_shape"] == [64]


def test_code_for_an_unsaved_spec(alice_api: Any, mlp_spec: dict) -> None:
    for framework, marker in (("keras", "keras"), ("torch", "nn.Module")):
        response = alice_api.post("/api/architectures/codegen/", {"spec": mlp_spec, "framework": framework}, format="json")
        assert response.status_code == 200 and marker in response.json()["source"]
    mlp_spec["layers"][0]["params"]["units"] = -1
    bad = alice_api.post("/api/architectures/codegen/", {"spec": mlp_spec}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["layer_id"] == "hidden1"


def test_validate_against_a_dataset_puts_each_mismatch_on_its_field(
    alice_api: Any, alice_dataset: Any, mlp_spec: dict
) -> None:
    body = {"spec": mlp_spec, "dataset": alice_dataset.pk}
    assert alice_api.post("/api/architectures/validate/", body, format="json").status_code == 200
    mlp_spec["input"]["shape"] = [5]
    mlp_spec["layers"][-1]["params"].update(units=4, activation="sigmoid")
    response = alice_api.post("/api/architectures/validate/", body, format="json")
    assert response.status_code == 400
    errors = {(e["layer_id"], e["param"], e["path"]): e for e in response.json()["errors"]}
    assert set(errors) == {
        (None, "shape", "input.shape"),
        ("out", "units", "layers[3].params.units"),
        ("out", "activation", "layers[3].params.activation"),
    }
    assert all(e["code"] == "dataset_mismatch" for e in errors.values())
    assert "Set its units to 3" in errors[("out", "units", "layers[3].params.units")]["message"]
    assert response.json()["report"]["layers"][-1]["output_shape"] == [4]
