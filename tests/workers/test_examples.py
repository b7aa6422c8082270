"""GET /api/jobs/<id>/examples/: a real job's confusion-matrix cells list exactly their test examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from builder.datasets.storage import data_root
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)


def cells(client: Any, job_id: int, n: int) -> dict[tuple[int, int], dict[str, Any]]:
    out = {}
    for t in range(n):
        for p in range(n):
            response = client.get(f"/api/jobs/{job_id}/examples/?true={t}&pred={p}")
            assert response.status_code == 200, response.content
            out[(t, p)] = response.json()
    return out


@pytest.mark.parametrize("kind", ["tabular", "images"])
def test_each_cell_lists_its_own_test_examples(alice: Any, alice_client: Any, trainer_without_export: Any, kind: str) -> None:
    dataset = make_dataset(alice, kind, n=240)
    if kind == "tabular":  # the upload the rows come from: data row r says "row r"
        source = data_root() / "datasets" / str(dataset.pk) / "source" / "upload.csv"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("name,value\n" + "".join(f"row {r},{r * 2}\n" for r in range(1240)))
        dataset.source = str(source.relative_to(data_root()))
        dataset.save()
    job = submit_job(alice, spec=SPECS[kind], dataset=dataset, framework="torch", hyperparameters=hp(epochs=2))
    job = wait_status(job, "succeeded", worker=trainer_without_export)
    matrix = job.evaluation["confusion_matrix"]
    n = len(matrix)
    found = cells(alice_client, job.pk, n)
    y_test = np.load(dataset.version_dir / "y_test.npy")
    ids_test = np.load(dataset.version_dir / "ids_test.npy")
    for (t, p), answer in found.items():
        assert answer["available"] is True
        assert answer["count"] == matrix[t][p] == len(answer["examples"])  # under the limit of 50
        assert answer["true"] == dataset.class_names[t] and answer["predicted"] == dataset.class_names[p]
        assert answer["unit"] == ("file" if kind == "images" else "row")  # the job page's caption
        confidences = [e["confidence"] for e in answer["examples"]]
        assert confidences == sorted(confidences, reverse=True)
        for example in answer["examples"]:
            assert y_test[example["index"]] == t and ids_test[example["index"]] == example["id"]
            if kind == "images":
                assert example["image"].startswith("data:image/png;base64,")
            else:
                assert example["row"] == {"name": f"row {example['id']}", "value": str(example["id"] * 2)}
    assert sum(a["count"] for a in found.values()) == len(y_test)


def test_a_job_without_predictions_says_why_and_a_bad_query_is_named(alice: Any, alice_client: Any) -> None:
    from tests.api.conftest import make_job

    job = make_job(alice, make_dataset(alice, "tabular"), status="running")
    answer = alice_client.get(f"/api/jobs/{job.pk}/examples/?true=0&pred=1").json()
    assert answer["available"] is False and "classification" in answer["reason"]
    response = alice_client.get(f"/api/jobs/{job.pk}/examples/?true=-1")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"true", "pred"}
