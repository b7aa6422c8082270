"""A sweep's bad input is a 400 naming the field and saying how to fix it; nothing is created."""

from __future__ import annotations

from typing import Any

import pytest

from builder.models import Architecture
from sweeps.models import Sweep
from tests.workers.helpers import SPECS, make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def body(alice: Any) -> dict[str, Any]:
    dataset = make_dataset(alice, "tabular", n=60)
    arch = Architecture.objects.create(owner=alice, name="tiny", spec=SPECS["tabular"])
    return {"dataset": dataset.pk, "architectures": [arch.pk], "framework": "torch", "method": "random",
            "space": {"learning_rate": {"low": 0.001, "high": 0.1, "log": True}}}  # fmt: skip


CASES = [
    ({"space": {"learning_rat": {"low": 0.001, "high": 0.1}}}, "space.learning_rat", "Unknown setting"),
    ({"space": {"learning_rate": {"low": 0.1, "high": 0.001}}}, "space.learning_rate", "must be below high"),
    ({"space": {"learning_rate": {"low": 0, "high": 0.1, "log": True}}}, "space.learning_rate", "log range"),
    ({"space": {"learning_rate": {"low": 0.001, "high": 20}}}, "space.learning_rate", "20"),
    ({"space": {"batch_size": {"values": []}}}, "space.batch_size", "at least 1"),
    ({"space": {"optimizer": {"values": ["adam", "lion"]}}}, "space.optimizer", "'lion'"),
    ({"space": {"device": {"values": ["cpu", "cuda"]}}}, "space.device", "Unknown setting"),
    ({"space": {"layers.nope.units": {"values": [8, 16]}}}, "space.layers.nope.units", "No layer 'nope'"),
    ({"space": {"layers.h.unitz": {"values": [8, 16]}}}, "space.layers.h.unitz", "has no parameter 'unitz'"),
    ({"space": {"layers.h.units": {"values": [8, 0]}}}, "space.layers.h.units", "0"),
    ({"space": {"learning_rate": {"low": 0.001, "high": 0.1}}, "method": "grid"}, "space.learning_rate",
     "A grid needs listed values"),
    ({"space": {"learning_rate": {"low": 0.001, "high": 1, "step": 1e-9}}, "method": "grid"}, "space",
     "The grid has"),
    ({"space": {}}, "space", "at least one setting"),
    ({"metric": "val_mae"}, "metric", "regression"),
    ({"parallel": 0}, "parallel", "at once"),
    ({"max_trials": 0}, "max_trials", "trials"),
    ({"hyperparameters": {"epochs": 0}}, "hyperparameters.epochs", "greater than or equal to 1"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "field", "words"), CASES)
def test_bad_input_names_the_field(alice_api: Any, body: dict[str, Any], change: dict[str, Any], field: str,
                                   words: str) -> None:  # fmt: skip
    response = alice_api.post("/api/sweeps/", {**body, **change}, format="json")
    assert response.status_code == 400, response.json()
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert field in errors and words in errors[field], errors
    assert not Sweep.objects.exists()


def test_a_grid_counts_its_points(alice_api: Any, body: dict[str, Any], settings: Any) -> None:
    settings.LAYERLOOM_TRAINING_QUEUE = "sweep-tests-unconsumed"
    space = {"learning_rate": {"values": [0.01, 0.1]}, "layers.h.units": {"low": 8, "high": 32, "integer": True,
                                                                           "step": 8}}  # fmt: skip
    response = alice_api.post("/api/sweeps/", {**body, "method": "grid", "space": space}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["max_trials"] == 8 and response.json()["status"] == "running"


def test_a_sweep_goes_with_its_dataset(alice_api: Any, body: dict[str, Any], settings: Any) -> None:
    settings.LAYERLOOM_TRAINING_QUEUE = "sweep-tests-unconsumed"
    sweep = alice_api.post("/api/sweeps/", body, format="json").json()
    assert alice_api.delete(f"/api/datasets/{body['dataset']}/").status_code == 204
    assert not Sweep.objects.filter(pk=sweep["id"]).exists()
    assert alice_api.get(f"/api/sweeps/{sweep['id']}/").status_code == 404
