"""Admin pages for named model endpoints: read-only, with the history of jobs that served."""

from __future__ import annotations

from typing import Any

import pytest

from serving.endpoints import publish
from serving.models import ModelEndpoint
from tests.serving.helpers import TABLE_DOC, onnx_job

pytestmark = pytest.mark.django_db


def test_endpoint_list_and_history(admin_client: Any, alice: Any) -> None:
    first, second = onnx_job(alice, TABLE_DOC, seed=1), onnx_job(alice, TABLE_DOC, seed=2)
    publish(alice, "iris-prod", first)
    endpoint, _ = publish(alice, "iris-prod", second)
    html = admin_client.get("/admin/serving/modelendpoint/?q=alice").content.decode()
    assert "iris-prod" in html and f"Job {second.pk}" in html
    page = admin_client.get(f"/admin/serving/modelendpoint/{endpoint.pk}/change/").content.decode()
    assert f"Job {first.pk}" in page and f"Job {second.pk}" in page  # both history rows
    # Read-only: a post changes nothing, and there is no add page (the API keeps the history).
    admin_client.post(f"/admin/serving/modelendpoint/{endpoint.pk}/change/", {"name": "renamed"})
    assert ModelEndpoint.objects.get().name == "iris-prod"
    assert admin_client.get("/admin/serving/modelendpoint/add/").status_code == 403


def test_a_job_that_serves_cannot_be_deleted_until_its_name_is_removed(alice: Any) -> None:
    from django.db.models import RestrictedError

    from serving.endpoints import unpublish
    from serving.models import EndpointHistory
    from workers.models import TrainingJob

    job = onnx_job(alice, TABLE_DOC)
    endpoint, _ = publish(alice, "iris", job)
    with pytest.raises(RestrictedError):
        job.delete()  # a name's callers never lose the job under it
    unpublish(endpoint)
    job.delete()
    assert not TrainingJob.objects.exists() and not EndpointHistory.objects.exists()
