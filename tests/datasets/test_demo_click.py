"""One click on the dashboard (or one API call) gives a newcomer a demo dataset that a real worker ingests."""

from __future__ import annotations

import pytest

from builder.models import Dataset
from tests.datasets.test_ingest_task import wait_until_settled


@pytest.mark.django_db(transaction=True)
def test_one_click_adds_a_demo_that_a_worker_makes_ready(alice_client, alice, celery_worker):
    response = alice_client.post("/datasets/demo/", {"demo": "iris"}, follow=True)
    assert response.status_code == 200
    assert b"Added Iris flowers (demo)" in response.content
    dataset = Dataset.objects.get(owner=alice)
    assert wait_until_settled(dataset.pk).status == "ready"
    again = alice_client.post("/datasets/demo/", {"demo": "iris"}, follow=True)
    assert b"You already have Iris flowers (demo)" in again.content
    assert Dataset.objects.filter(owner=alice).count() == 1
    page = alice_client.get("/").content.decode()
    assert "Iris flowers (demo)" in page and "Ready" in page


@pytest.mark.django_db
def test_an_unknown_demo_says_which_exist(alice_client, alice, data_root, enqueued):
    response = alice_client.post("/datasets/demo/", {"demo": "mnist"}, follow=True)
    assert b"There is no demo called" in response.content and b"iris, digits, reviews" in response.content
    assert not Dataset.objects.filter(owner=alice).exists()


@pytest.mark.django_db
def test_demo_buttons_need_a_signed_in_user_and_post(alice_client, data_root, enqueued):
    from django.test import Client

    anonymous = Client()
    assert anonymous.post("/datasets/demo/", {"demo": "iris"}).status_code == 302  # to the login page
    assert not Dataset.objects.exists()
    assert alice_client.get("/datasets/demo/").status_code == 405


@pytest.mark.django_db
def test_dashboard_escapes_dataset_names(alice_client, alice):
    Dataset.objects.create(owner=alice, name="<script>alert(1)</script>", kind="tabular", sha256="0" * 64)
    page = alice_client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.django_db
def test_api_lists_and_adds_demos(alice, data_root, enqueued):
    from tests.api.conftest import token_client

    api = token_client(alice)
    listed = api.get("/api/datasets/demo/")
    assert listed.status_code == 200
    assert [d["key"] for d in listed.json()] == ["iris", "digits", "reviews"]
    created = api.post("/api/datasets/demo/", {"demo": "digits"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "images" and created.json()["status"] == "pending"
    again = api.post("/api/datasets/demo/", {"demo": "digits"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    bad = api.post("/api/datasets/demo/", {"demo": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "demo"
