"""An artifact row whose path leads out of the data root is never read or sent, by any path:
the API's download, the admin's download and the predict endpoint all treat it as missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def escaped(alice_job: Any) -> Any:
    """Alice's ONNX artifact, pointed at a real file just outside the data root."""
    outside = Path(settings.LAYERLOOM_DATA_ROOT).resolve().parent / f"outside-{alice_job.pk}.onnx"
    outside.write_bytes(b"not for anyone")
    artifact = alice_job.artifacts.get(kind="onnx")
    artifact.path = f"../{outside.name}"
    artifact.save(update_fields=["path"])
    yield artifact
    outside.unlink()


def test_inside_the_root_is_served(alice_client: Any, alice_job: Any) -> None:
    artifact = alice_job.artifacts.get(kind="onnx")
    assert artifact.stored_file() == artifact.absolute_path.resolve()
    response = alice_client.get(f"/api/jobs/{alice_job.pk}/artifacts/{artifact.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"onnx-bytes"


def test_outside_the_root_is_missing_everywhere(alice_client: Any, admin_client: Any, escaped: Any) -> None:
    assert escaped.absolute_path.is_file() and escaped.stored_file() is None
    job = escaped.job
    download = alice_client.get(f"/api/jobs/{job.pk}/artifacts/{escaped.pk}/")
    assert download.status_code == 404 and download.json()["message"] == "The artifact's file is missing."
    assert admin_client.get(f"/admin/workers/trainingjob/{job.pk}/artifacts/{escaped.pk}/").status_code == 404
    answer = alice_client.post(f"/api/jobs/{job.pk}/predict/", {"row": {"a": 1}}, content_type="application/json")
    assert answer.status_code == 409 and "model file is missing" in answer.json()["message"]
