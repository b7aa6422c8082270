"""Column names, labels and folder names as people write them: accents, CJK, emoji and a
UTF-8 byte-order mark (what Excel puts before "CSV UTF-8"). They go through the upload, the
ingestion, training, the API, the pages and the code bundle's predict.py unchanged, and the
mark never becomes part of the first column's name."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import token_client
from tests.datasets.factories import image_zip
from tests.datasets.test_ingest_task import wait_until_settled
from tests.export import helpers as bundle_helpers
from tests.workers.helpers import hp, wait_status
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = ["Température (°C)", "Größe", "名前", "Étiquette"]
LABELS = ["été", "hiver", "🌸 printemps"]
BOM = "\ufeff"


def unicode_csv(rows: int = 60) -> bytes:
    rng = np.random.default_rng(2)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i in range(rows):
        label = i % 3
        writer.writerow([f"{label * 3 + rng.normal():.3f}", f"{label + rng.normal():.3f}", ["山", "川", "森"][i % 3],
                         LABELS[label]])  # fmt: skip
    return (BOM + out.getvalue()).encode("utf-8")


def upload(api: Any, name: str, filename: str, data: bytes, kind: str, options: dict[str, Any]) -> Any:
    response = api.post("/api/datasets/", {"file": SimpleUploadedFile(filename, data), "kind": kind, "name": name,
                                           "options": json.dumps(options)}, format="multipart")  # fmt: skip
    assert response.status_code == 201, response.json()
    dataset = wait_until_settled(response.json()["id"])
    assert dataset.status == "ready", dataset.error
    return dataset


def test_a_table_with_a_bom_and_unicode_names_trains_serves_and_predicts_in_the_bundle(
    alice: Any, alice_client: Any, celery_worker: Any, tmp_path: Path
) -> None:
    api = token_client(alice)
    dataset = upload(api, "données 名前 🌸", "données.csv", unicode_csv(), "tabular", {"target_column": "Étiquette"})
    assert [c["name"] for c in dataset.profile["columns"]] == COLUMNS[:3]  # no BOM on the first name
    assert dataset.profile["target"]["column"] == "Étiquette"
    assert sorted(dataset.class_names) == sorted(LABELS)
    body = api.get(f"/api/datasets/{dataset.pk}/").json()
    assert body["name"] == "données 名前 🌸" and sorted(body["class_names"]) == sorted(LABELS)

    spec = {"format": 1, "name": "unicode", "input": {"shape": dataset.input_shape}, "layers": [
        {"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
        {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]}  # fmt: skip
    response = api.post("/api/jobs/", {"spec": spec, "dataset": dataset.pk, "framework": "torch",
                                       "hyperparameters": hp(epochs=1, batch_size=8)}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    job = wait_status(TrainingJob.objects.get(pk=response.json()["id"]), *TrainingJob.FINISHED, worker=celery_worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert sorted(job.evaluation["class_names"]) == sorted(LABELS)

    row = {"Température (°C)": 6.1, "Größe": 2.0, "名前": "森"}
    answer = api.post(f"/api/jobs/{job.pk}/predict/", {"row": row}, format="json")
    assert answer.status_code == 200, answer.json()
    assert set(answer.json()["predictions"][0]["probabilities"]) == set(LABELS)

    for page, shown in ((f"/datasets/{dataset.pk}/", "🌸 printemps"), (f"/jobs/{job.pk}/", "🌸 printemps"),
                        (f"/jobs/{job.pk}/predict/", "名前")):  # fmt: skip
        html = alice_client.get(page).content.decode()
        assert shown in html and BOM not in html, page

    # The bundle's predict.py reads a CSV saved the way Excel saves it (with the mark) and names the labels.
    bundle = bundle_helpers.unzip_bundle(job.artifacts.get(kind="code_bundle").absolute_path, tmp_path)
    given = tmp_path / "à prédire.csv"
    given.write_bytes((BOM + "Température (°C),Größe,名前\n6.1,2.0,森\n-0.2,0.1,山\n").encode("utf-8"))
    bundle_helpers.run_script(bundle / "predict.py", [str(given), "--output", "sortie.csv"], tmp_path, timeout=240)
    with (tmp_path / "sortie.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(r["label"] in LABELS for r in rows), rows


def test_image_folders_with_unicode_names_become_the_class_names(alice: Any, alice_client: Any,
                                                                  celery_worker: Any) -> None:  # fmt: skip
    names = ["chats-été", "犬", "🐦 oiseaux"]
    data = image_zip(dict.fromkeys(names, 4), prefix="photos é/")
    dataset = upload(token_client(alice), "images 🐦", "photos.zip", data, "images", {"image_size": [8, 8]})
    assert sorted(dataset.class_names) == sorted(names)
    html = alice_client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert all(name in html for name in names)
