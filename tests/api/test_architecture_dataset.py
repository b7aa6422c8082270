"""An architecture remembers the dataset it was built for: given with the spec or taken from
the preset's dataset, kept by updates that do not name it, cleared with null, and never
another user's (404, as for every other object of theirs)."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture

pytestmark = pytest.mark.django_db


def test_the_dataset_is_stored_read_back_kept_and_cleared(
    alice_api: Any, alice_dataset: Any, mlp_spec: dict[str, Any]
) -> None:
    made = alice_api.post("/api/architectures/", {"name": "for a", "spec": mlp_spec, "dataset": alice_dataset.pk},
                          format="json")  # fmt: skip
    assert made.status_code == 201, made.json()
    pk = made.json()["id"]
    assert made.json()["dataset"] == alice_dataset.pk
    assert alice_api.get(f"/api/architectures/{pk}/").json()["dataset"] == alice_dataset.pk
    # A rename or a new spec without "dataset" keeps it; null clears it.
    assert alice_api.patch(f"/api/architectures/{pk}/", {"name": "renamed"}, format="json").json()["dataset"] == alice_dataset.pk
    replaced = alice_api.put(f"/api/architectures/{pk}/", {"name": "renamed", "spec": mlp_spec}, format="json")
    assert replaced.json()["dataset"] == alice_dataset.pk
    assert alice_api.patch(f"/api/architectures/{pk}/", {"dataset": None}, format="json").json()["dataset"] is None
    assert Architecture.objects.get(pk=pk).dataset_id is None
    # Without one, the field reads null.
    assert alice_api.post("/api/architectures/", {"spec": mlp_spec}, format="json").json()["dataset"] is None


def test_a_preset_fitted_to_a_dataset_remembers_it(alice_api: Any, alice_dataset: Any) -> None:
    made = alice_api.post("/api/architectures/", {"preset": "mlp", "dataset": alice_dataset.pk}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["dataset"] == alice_dataset.pk


def test_another_users_dataset_or_a_bad_value_is_refused(
    bob_api: Any, alice_api: Any, alice_dataset: Any, mlp_spec: dict[str, Any]
) -> None:
    theirs = bob_api.post("/api/architectures/", {"spec": mlp_spec, "dataset": alice_dataset.pk}, format="json")
    assert theirs.status_code == 404 and theirs.json()["message"] == "No such dataset among yours."
    bad = alice_api.post("/api/architectures/", {"spec": mlp_spec, "dataset": "seven"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "dataset"
    assert not Architecture.objects.exists()  # nothing half-made


def test_deleting_the_dataset_leaves_the_architecture_without_one(
    alice_api: Any, alice_dataset: Any, mlp_spec: dict[str, Any]
) -> None:
    pk = alice_api.post("/api/architectures/", {"spec": mlp_spec, "dataset": alice_dataset.pk}, format="json").json()["id"]
    assert alice_api.delete(f"/api/datasets/{alice_dataset.pk}/").status_code == 204
    assert alice_api.get(f"/api/architectures/{pk}/").json()["dataset"] is None
