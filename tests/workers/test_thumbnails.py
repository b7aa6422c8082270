"""Thumbnails of the worst-misclassified test images: drawn from the test split, served as artifacts."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from tests.workers.helpers import SPECS, make_dataset
from workers.models import Artifact, TrainingJob
from workers.training import artifacts, thumbnails
from workers.training.context import JobContext


def test_a_small_grayscale_input_is_enlarged_with_its_pixels_kept():
    sample = np.zeros((8, 4, 1), dtype=np.float32)
    sample[0, 0, 0] = 1.0
    image = thumbnails.to_image(sample)
    assert image.mode == "L" and image.size == (32, 64)  # longer side 64, aspect kept
    pixels = np.asarray(image)
    assert pixels[:8, :8].min() == 255 and pixels[8:, :].max() == 0  # nearest-neighbour blocks


def test_a_large_rgb_input_is_reduced_and_values_outside_0_1_are_stretched():
    sample = np.linspace(-3, 5, 128 * 96 * 3, dtype=np.float32).reshape(128, 96, 3)
    image = thumbnails.to_image(sample)
    assert image.mode == "RGB" and image.size == (48, 64)
    pixels = np.asarray(image)
    assert pixels.min() <= 5 and pixels.max() >= 250


def test_only_image_datasets_get_thumbnails():
    assert thumbnails.is_image_input({"kind": "images"}, (8, 8, 1))
    assert not thumbnails.is_image_input({"kind": "tabular"}, (6,))
    assert not thumbnails.is_image_input({"kind": "images"}, (8, 8, 2))


@pytest.mark.django_db
def test_each_worst_example_gets_a_png_artifact_named_in_its_evaluation_entry(alice, bob):
    ds = make_dataset(alice, "images", n=100)
    worst = [{"id": 1083, "index": 3, "true": "cats", "predicted": "dogs", "confidence": 0.9, "p_true": 0.1},
             {"id": 1090, "index": 10, "true": "dogs", "predicted": "cats", "confidence": 0.8, "p_true": 0.2}]  # fmt: skip
    job = TrainingJob.objects.create(
        owner=alice, spec=SPECS["images"], dataset=ds, dataset_version=ds.version, framework="torch",
        hyperparameters={}, status=TrainingJob.Status.RUNNING, evaluation={"worst_misclassified": worst},
    )  # fmt: skip
    ctx = JobContext.from_job(job)
    assert artifacts.record_thumbnails(job.pk, ctx) == 2
    job.refresh_from_db()
    assert_thumbnails_served(job, alice, bob)
    rows = Artifact.objects.filter(job=job, kind="thumbnail")
    assert sorted(rows.values_list("filename", flat=True)) == ["misclassified-1083.png", "misclassified-1090.png"]


def assert_thumbnails_served(job: TrainingJob, owner, other) -> None:
    """Every worst-misclassified entry names a PNG of at most 64 px that the owner can download."""
    owner_api, other_api = APIClient(), APIClient()
    owner_api.force_authenticate(owner)
    other_api.force_authenticate(other)
    body = owner_api.get(f"/api/jobs/{job.pk}/").json()
    entries = body["evaluation"]["worst_misclassified"]
    assert entries and entries == job.evaluation["worst_misclassified"]
    listed = {a["id"]: a for a in owner_api.get(f"/api/jobs/{job.pk}/artifacts/").json()}
    for entry in entries:
        thumb = entry["thumbnail"]
        assert thumb["filename"] == f"misclassified-{entry['id']}.png"
        assert listed[thumb["artifact_id"]]["kind"] == "thumbnail"
        url = f"/api/jobs/{job.pk}/artifacts/{thumb['artifact_id']}/"
        response = owner_api.get(url)
        assert response.status_code == 200
        image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert image.format == "PNG" and max(image.size) == 64 and image.size == (thumb["width"], thumb["height"])
        assert other_api.get(url).status_code == 404
