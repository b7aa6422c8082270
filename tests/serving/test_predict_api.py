"""POST /api/jobs/{id}/predict/: answers, and a clear 4xx naming the field for every bad input.

The models are linear ONNX files written with onnx.helper (tests/serving/helpers.py), so
the expected answers are numpy on the same weights, after the same preprocessing.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from serving.sessions import CACHE
from tests.serving.helpers import IMAGE_DOC, TABLE_DOC, TEXT_DOC, b64, expected, onnx_job, png

pytestmark = pytest.mark.django_db

ROWS = [
    {"length": 5.1, "width": "3.5", "colour": "red"},
    {"length": "", "width": 2.9, "colour": "blue"},  # a missing value: imputed, as in training
    {"length": "6.7", "width": 3.1, "colour": "purple", "species": "setosa"},  # unseen category; the target is fine
    {"length": 7, "width": None, "colour": None},
]


def post(client: Any, job: Any, body: Any, **kwargs: Any) -> Any:
    return client.post(f"/api/jobs/{job.pk}/predict/", body, format=kwargs.pop("format", "json"), **kwargs)


def errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_table_rows_get_every_class_probability_and_the_model_that_answered(alice, alice_api):
    job = onnx_job(alice, TABLE_DOC)
    response = post(alice_api, job, {"rows": ROWS})
    assert response.status_code == 200, response.json()
    body = response.json()
    artifact = job.artifacts.get(kind="onnx")
    assert body["model"] == {"job": job.pk, "framework": "torch", "artifact": artifact.pk,
                             "sha256": artifact.sha256, "endpoint": None}  # fmt: skip
    assert body["task"] == "classification" and body["class_names"] == TABLE_DOC["class_names"]
    want = expected(job, ROWS)
    got = np.array([[p["probabilities"][n] for n in TABLE_DOC["class_names"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert [p["label"] for p in body["predictions"]] == [TABLE_DOC["class_names"][i] for i in want.argmax(1)]
    assert [p["probability"] for p in body["predictions"]] == pytest.approx(want.max(1), abs=1e-6)
    assert body["warnings"] == [{"field": "rows.2.colour", "message": "'purple' was not in the training data; "
                                 "it is encoded as an unknown category, as in training."}]  # fmt: skip


def test_one_row(alice, alice_api):
    job = onnx_job(alice, TABLE_DOC)
    body = post(alice_api, job, {"row": ROWS[0]}).json()
    assert len(body["predictions"]) == 1 and "warnings" not in body
    np.testing.assert_allclose(list(body["predictions"][0]["probabilities"].values()), expected(job, ROWS[:1])[0],
                               atol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"rows": [{"length": 5, "width": 3}]}, "rows.0", "missing column 'colour'"),
        ({"rows": [ROWS[0], {**ROWS[0], "height": 2}]}, "rows.1.height", "unknown column"),
        ({"rows": [ROWS[0], {**ROWS[0], "length": "tall"}]}, "rows.1", "column 'length': 'tall' is not a number"),
        ({"row": {**ROWS[0], "width": [1, 2]}}, "row.width", "expected a number or text, got list"),
        ({"rows": [ROWS[0], 5]}, "rows.1", "expected an object of column name -> value"),
        ({"row": {**ROWS[0], "length": "inf"}}, "row", "infinity is not a usable value"),
        ({"rows": []}, "rows", "the list is empty"),
        ({"rows": ROWS[0]}, "rows", "expected a list of rows; for one row, send 'row'"),
        ({"texts": ["good"]}, "texts", "trained on tabular data"),
        ({"rows": ROWS, "row": ROWS[0]}, "rows", "not both"),
        ({}, "rows", "send 'rows': a list, or 'row': one row"),
    ],
)
def test_bad_table_inputs_name_the_field(alice, alice_api, body, field, words):
    job = onnx_job(alice, TABLE_DOC)
    response = post(alice_api, job, body)
    assert response.status_code == 400, response.json()
    found = errors(response)
    assert field in found and words in found[field], found


def test_batch_and_body_limits(alice, alice_api, settings):
    job = onnx_job(alice, TABLE_DOC)
    settings.LAYERLOOM_PREDICT_MAX_BATCH = 3
    response = post(alice_api, job, {"rows": ROWS})
    assert response.status_code == 400
    assert errors(response)["rows"] == "4 rows is over the limit of 3 per request; split the batch."
    settings.LAYERLOOM_PREDICT_MAX_BATCH = 1000
    settings.LAYERLOOM_PREDICT_MAX_BODY_BYTES = 200
    response = post(alice_api, job, {"rows": ROWS * 3})
    assert response.status_code == 413
    assert "over the limit of 200" in response.json()["message"]
    settings.LAYERLOOM_PREDICT_MAX_BODY_BYTES = 20 * 1024**2
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 300
    response = post(alice_api, job, {"rows": ROWS * 3})
    assert response.status_code == 413
    assert "A JSON body may be at most 300 bytes; send images as files" in response.json()["message"]
    response = alice_api.post(f"/api/jobs/{job.pk}/predict/", "", content_type="application/json")
    assert response.status_code == 400 and "empty" in response.json()["message"]
    response = alice_api.post(f"/api/jobs/{job.pk}/predict/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.json()["message"]
    response = alice_api.post(f"/api/jobs/{job.pk}/predict/", "{nope", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled"])
def test_a_job_that_has_not_succeeded_answers_409(alice, alice_api, status):
    job = onnx_job(alice, TABLE_DOC, status=status)
    response = post(alice_api, job, {"rows": ROWS})
    assert response.status_code == 409
    assert f"Job {job.pk} is {status}: only a job that succeeded" in response.json()["message"]


def test_a_job_without_a_model_file_or_a_tampered_one_answers_409(alice, alice_api):
    job = onnx_job(alice, TABLE_DOC)
    artifact = job.artifacts.get(kind="onnx")
    artifact.absolute_path.write_bytes(b"not the exported file")
    response = post(alice_api, job, {"rows": ROWS})
    assert response.status_code == 409 and "does not match its recorded sha256" in response.json()["message"]
    artifact.delete()
    response = post(alice_api, job, {"rows": ROWS})
    assert response.status_code == 409 and "has no ONNX model file" in response.json()["message"]


def test_another_users_job_is_404(alice, bob_api):
    job = onnx_job(alice, TABLE_DOC)
    response = post(bob_api, job, {"rows": ROWS})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert CACHE.loaded_jobs() == []  # nothing of alice's was even loaded


def test_texts(alice, alice_api):
    job = onnx_job(alice, TEXT_DOC)
    texts = ["Good good film", "", "BAD and unknown words here and more"]
    body = post(alice_api, job, {"texts": texts}).json()
    got = np.array([[p["probabilities"][n] for n in ["neg", "pos"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected(job, texts), atol=1e-6)
    assert post(alice_api, job, {"text": "good"}).status_code == 200
    response = post(alice_api, job, {"texts": ["good", 3]})
    assert response.status_code == 400 and errors(response)["texts.1"] == "expected text, got int."


def test_a_one_unit_sigmoid_gives_both_classes(alice, alice_api):
    job = onnx_job(alice, TEXT_DOC, head="sigmoid")
    texts = ["good good", "bad", ""]
    body = post(alice_api, job, {"texts": texts}).json()
    got = np.array([[p["probabilities"]["neg"], p["probabilities"]["pos"]] for p in body["predictions"]])
    want = expected(job, texts)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert [p["label"] for p in body["predictions"]] == [["neg", "pos"][i] for i in want.argmax(axis=1)]


def test_images_as_base64_and_as_files_are_converted_as_in_training(alice, alice_api):
    job = onnx_job(alice, IMAGE_DOC)
    # Other sizes and modes than the model's 4x4 grayscale: resized and converted by preprocessing.
    images = [png((9, 5), "RGB", 1), png((4, 4), "RGBA", 2), png((30, 12), "L", 3)]
    want = expected(job, images)
    body = post(alice_api, job, {"images": [b64(images[0]), "data:image/png;base64," + b64(images[1]),
                                            b64(images[2])]}).json()  # fmt: skip
    got = np.array([[p["probabilities"][n] for n in ["cats", "dogs"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, want, atol=1e-6)

    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile(f"{i}.png", data, "image/png") for i, data in enumerate(images)]
    response = post(alice_api, job, {"images": files}, format="multipart")
    assert response.status_code == 200, response.json()
    got = np.array([[p["probabilities"][n] for n in ["cats", "dogs"]] for p in response.json()["predictions"]])
    np.testing.assert_allclose(got, want, atol=1e-6)

    response = post(alice_api, job, {"images": [b64(images[0]), "%%%"]})
    assert response.status_code == 400 and "not valid base64" in errors(response)["images.1"]
    response = post(alice_api, job, {"images": [b64(b"plain text, not a picture")]})
    assert response.status_code == 400 and "not a JPEG, PNG, BMP, GIF or WebP image" in errors(response)["images.0"]
    response = post(alice_api, job, {"rows": [{}]})
    assert response.status_code == 400 and "trained on images data" in errors(response)["rows"]

    # Past Django's cap on files in one body, the message is on the model's own field.
    eleven = [SimpleUploadedFile(f"{i}.png", images[0], "image/png") for i in range(11)]
    response = post(alice_api, job, {"images": eleven}, format="multipart")
    assert response.status_code == 400
    assert errors(response) == {"images": "At most 10 files in one request: send more images in several requests, "
                                          "or as base64 in JSON."}  # fmt: skip
    response = alice_api.post(f"/api/jobs/{job.pk}/predict/", "", content_type="application/json")
    assert response.status_code == 400 and "empty" in errors(response)["images"]


def test_regression_values_come_back_in_the_targets_units(alice, alice_api):
    doc = {**TABLE_DOC, "task": "regression", "target_column": "price", "class_names": []}
    job = onnx_job(alice, doc)
    rows = [{k: v for k, v in row.items() if k != "species"} for row in ROWS]
    raw = expected(job, rows)[:, 0]
    body = post(alice_api, job, {"rows": rows}).json()
    assert body["task"] == "regression" and "class_names" not in body
    np.testing.assert_allclose([p["value"] for p in body["predictions"]], raw, rtol=1e-6)
    # Standardised target (the key training writes): raw * std + mean.
    scaled = {**doc, "target_scaling": {"mean": 250.0, "std": 40.0}}
    (job.dataset_dir / "preprocessing.json").write_text(json.dumps(scaled))
    CACHE.clear()
    body = post(alice_api, job, {"rows": rows}).json()
    np.testing.assert_allclose([p["value"] for p in body["predictions"]], raw * 40.0 + 250.0, rtol=1e-6)


def test_loaded_models_are_cached_least_recently_used_first_out(alice, alice_api, settings):
    jobs = [onnx_job(alice, TABLE_DOC, seed=i) for i in range(3)]
    size = jobs[0].artifacts.get(kind="onnx").size_bytes
    settings.LAYERLOOM_SERVING_CACHE_BYTES = 2 * size  # room for two
    for job in jobs[:2]:
        assert post(alice_api, job, {"row": ROWS[0]}).status_code == 200
    assert CACHE.loaded_jobs() == [jobs[0].pk, jobs[1].pk]
    post(alice_api, jobs[0], {"row": ROWS[0]})  # used again: now the most recent
    post(alice_api, jobs[2], {"row": ROWS[0]})
    assert CACHE.loaded_jobs() == [jobs[0].pk, jobs[2].pk]
    assert CACHE.total_bytes() <= settings.LAYERLOOM_SERVING_CACHE_BYTES


def test_predictions_count_against_the_user_rate_not_the_job_submission_rate(alice, alice_api, settings):
    from django.core.cache import cache

    cache.clear()
    job = onnx_job(alice, TABLE_DOC)
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "submit": "2/hour",
                                             "user": "5/minute"}  # fmt: skip
    assert [post(alice_api, job, {"row": ROWS[0]}).status_code for _ in range(6)] == [200] * 5 + [429]
    cache.clear()


@pytest.mark.parametrize("regression", [False, True], ids=["classification", "regression"])
@pytest.mark.parametrize("value", [1e39, "1e39", 1e308, "-1e300"])
def test_a_number_float32_cannot_hold_is_a_400_naming_the_column(alice, alice_api, regression, value):
    """It answered 200 with a null probability (always the first class) or a null value."""
    doc = {**TABLE_DOC, "task": "regression", "target_column": "price", "class_names": []} if regression else TABLE_DOC
    job = onnx_job(alice, doc)
    response = post(alice_api, job, {"rows": [ROWS[0], {**ROWS[0], "length": value}]})
    assert response.status_code == 400, response.json()
    message = errors(response)["rows.1"]
    assert message.startswith("column 'length': ") and "too large for the model, which computes in float32" in message


def test_an_output_that_overflows_is_a_400_not_a_null(alice, alice_api):
    """Inputs float32 can hold whose output it cannot: the largest standardised value times the weights."""
    # A seed whose weight on 'length' is over 1.2: 3e38 standardised times it is past float32.
    seed = next(s for s in range(100) if abs(np.random.default_rng(s).normal(size=(4, 1))[0, 0]) > 1.2)
    job = onnx_job(alice, {**TABLE_DOC, "task": "regression", "target_column": "price", "class_names": []}, seed=seed)
    huge = {**ROWS[0], "length": 3.0e38 * 0.8}  # standardised ((x - 5.8) / 0.8): 3e38, which float32 holds
    response = post(alice_api, job, {"rows": [ROWS[0], huge]})
    assert response.status_code == 400, response.json()
    assert errors(response) == {"rows.1": "the model's output for this input is not a finite number: its values lie "
                                          "too far outside what the model was trained on."}  # fmt: skip


def test_the_images_of_one_request_are_bounded_in_pixels_before_any_is_decoded(alice, alice_api, settings):
    """Each under the per-image cap, ten large images together took gigabytes to decode."""
    job = onnx_job(alice, IMAGE_DOC)
    buffer = io.BytesIO()
    Image.new("L", (2500, 2500)).save(buffer, format="PNG")  # 6.25 million pixels in a few KB
    large = b64(buffer.getvalue())
    response = post(alice_api, job, {"images": [large] * 10})
    assert response.status_code == 400
    assert errors(response)["images"] == (
        "these 10 images hold 62,500,000 pixels together, over the limit of 50,000,000 per request "
        "(LAYERLOOM_PREDICT_MAX_PIXELS); send fewer images per request, or smaller ones."
    )
    assert post(alice_api, job, {"images": [large] * 8}).status_code == 200  # 50 million: at the limit
