"""The server side of the browser pages: owners only, user text escaped, designed error pages,
a train form generated from the hyperparameter schema, a comparison that names differences."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import path

from builder.models import Architecture
from tests.api.conftest import add_artifact, make_job
from tests.workers.helpers import SPECS, make_dataset
from workers.hyperparameters import Hyperparameters

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"


def boom(request: Any) -> Any:
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom)]


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def alices(alice: Any) -> dict[str, Any]:
    dataset = make_dataset(alice, "images")
    thumbs = dataset.version_dir / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    (thumbs / "0-0.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    architecture = Architecture.objects.create(owner=alice, name="cnn", spec=SPECS["images"])
    job = make_job(alice, dataset, architecture, status="succeeded")
    add_artifact(job)
    return {"dataset": dataset, "architecture": architecture, "job": job}


def page_urls(objects: dict[str, Any]) -> list[str]:
    d, a, j = objects["dataset"].pk, objects["architecture"].pk, objects["job"].pk
    return [f"/datasets/{d}/", f"/datasets/{d}/thumbs/0-0.png", f"/jobs/{j}/", f"/jobs/new/?architecture={a}"]


def test_the_owner_sees_each_page_and_anyone_else_gets_the_designed_404(
    alice_client: Client, bob_client: Client, alices: dict[str, Any]
) -> None:
    for url in page_urls(alices):
        assert alice_client.get(url).status_code == 200, url
        response = bob_client.get(url)
        assert response.status_code == 404, url
        assert b"This page does not exist" in response.content, url
    # Bob's comparison of Alice's job shows nothing of hers.
    response = bob_client.get(f"/jobs/compare/?ids={alices['job'].pk}")
    assert response.status_code == 200
    assert b"not among yours" in response.content and b"Job #" not in response.content


def test_only_thumbnail_names_ingestion_writes_are_served(alice_client: Client, alices: dict[str, Any]) -> None:
    pk = alices["dataset"].pk
    for name in ("..%2Fpreprocessing.json", "0-0.png.bak", "x.png", "0-1.png"):
        assert alice_client.get(f"/datasets/{pk}/thumbs/{name}").status_code == 404, name


def test_pages_need_a_signed_in_user(client: Client, alices: dict[str, Any]) -> None:
    for url in ["/", "/datasets/", "/datasets/upload/", "/jobs/", "/jobs/compare/", *page_urls(alices)]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.mark.urls("tests.pages.test_pages")
def test_a_server_error_shows_the_designed_500_page(alice_client: Client) -> None:
    alice_client.raise_request_exception = False
    response = alice_client.get("/boom/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


def test_user_text_is_escaped_on_every_page(alice: Any, alice_client: Client) -> None:
    dataset = make_dataset(alice, "tabular")
    dataset.name = HOSTILE
    dataset.class_names = [HOSTILE, "b", "c"]
    dataset.profile = {"kind": "tabular", "rows": 3, "columns": [{"name": HOSTILE, "type": "numeric", "missing": 0}],
                       "target": {"column": "t", "classes": [{"name": HOSTILE, "count": 2}]}, "splits": {}}  # fmt: skip
    dataset.save()
    architecture = Architecture.objects.create(owner=alice, name=HOSTILE, spec=SPECS["tabular"])
    job = make_job(alice, dataset, architecture, status="succeeded", evaluation={
        "task": "classification", "samples": 2, "accuracy": 0.5, "class_names": [HOSTILE, "b"],
        "per_class": [{"class": HOSTILE, "precision": 1, "recall": 1, "f1": 1, "support": 1}],
        "confusion_matrix": [[1, 0], [1, 0]],
        "worst_misclassified": [{"id": 1, "index": 0, "true": "b", "predicted": HOSTILE, "confidence": 0.9, "p_true": 0.1}],
    })  # fmt: skip
    urls = ["/", "/datasets/", f"/datasets/{dataset.pk}/", "/jobs/", f"/jobs/{job.pk}/",
            f"/jobs/new/?architecture={architecture.pk}", f"/jobs/compare/?ids={job.pk}"]  # fmt: skip
    for url in urls:
        response = alice_client.get(url)
        assert response.status_code == 200, url
        assert HOSTILE.encode() not in response.content, url
    # The class names reach the page's scripts only through escaped attributes.
    assert b'data-true="&lt;img src=x onerror=alert(1)&gt;"' in alice_client.get(f"/jobs/{job.pk}/").content


def test_the_train_form_has_a_field_for_every_hyperparameter_with_its_default(
    alice: Any, alice_client: Client, alices: dict[str, Any]
) -> None:
    content = alice_client.get(f"/jobs/new/?architecture={alices['architecture'].pk}").content.decode()
    defaults = Hyperparameters().model_dump()
    for name in Hyperparameters.model_fields:
        assert f'data-hp="{name}"' in content, name
        assert f'data-error-for="hyperparameters.{name}"' in content, name
    assert 'id="hp_batch_size" data-hp="batch_size" data-type="integer"' in content
    assert f'value="{defaults["batch_size"]}"' in content
    assert 'min="1"' in content and 'max="65536"' in content


def test_the_comparison_marks_the_rows_that_differ(alice: Any, alice_client: Client) -> None:
    dataset = make_dataset(alice, "tabular")
    first = make_job(alice, dataset, status="succeeded")
    second = make_job(alice, dataset, status="succeeded")
    first.hyperparameters = {"epochs": 2, "learning_rate": 0.1}
    second.hyperparameters = {"epochs": 2, "learning_rate": 0.01}
    first.save()
    second.save()
    content = alice_client.get(f"/jobs/compare/?ids={first.pk},{second.pk}").content.decode()
    assert '<tr data-row="learning_rate" class="differs">' in content
    assert '<tr data-row="epochs">' in content
    assert '<tr data-row="framework">' in content


def test_number_formats_for_people() -> None:
    from webapp.templatetags.layerloom import duration, grouped, shape, size

    assert grouped(1234567) == "1,234,567"
    assert size(12_345_678) == "12.3 MB" and size(828) == "828 bytes"
    assert duration(130) == "2 min 10 s" and duration(3900) == "1 h 5 min" and duration(0.42) == "0.4 s"
    assert shape([28, 28, 1]) == "(None, 28, 28, 1)"


def test_the_train_form_without_a_ready_dataset_leads_to_an_upload(alice: Any, alice_client: Any) -> None:
    architecture = Architecture.objects.create(owner=alice, name="mlp", spec=SPECS["tabular"])
    content = alice_client.get(f"/jobs/new/?architecture={architecture.pk}").content.decode()
    assert "No dataset is ready yet" in content and 'href="/datasets/upload/"' in content
    assert 'id="train-submit" disabled' in content and 'id="estimate" disabled' in content
