"""GET /jobs/<id>/predict/: the form is made from the dataset's preprocessing document and
starts with the first test-split input read back from the stored upload; a job that cannot
predict says why; another user's job is a 404. (The browser side: tests/e2e/test_predict_page.py.)
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import zipfile
from typing import Any

import pytest

from serving.endpoints import publish
from tests.serving.helpers import IMAGE_DOC, TABLE_DOC, TEXT_DOC, onnx_job, png, with_upload

pytestmark = pytest.mark.django_db


def page(client: Any, job: Any) -> str:
    response = client.get(f"/jobs/{job.pk}/predict/")
    assert response.status_code == 200
    return response.content.decode()


def selected(body: str, field_id: str) -> list[str]:
    block = re.search(rf'<select id="{field_id}".*?</select>', body, re.S)
    assert block, field_id
    return [html.unescape(v) for v in re.findall(r'<option value="([^"]*)" selected>', block.group(0))]


def test_a_table_form_has_a_control_per_input_column_filled_from_the_first_test_row(alice, alice_client):
    rows = "length,width,colour,species\n1,2,red,setosa\n6.1,NA,purple,=versicolor\n4.5,3,,virginica\n"
    job = with_upload(onnx_job(alice, TABLE_DOC), "upload.csv", rows.encode(), [2, 1])
    body = page(alice_client, job)
    # Row 1 is the first test row: its number, a missing number left empty (imputed), and a
    # category training never saw, offered as the row has it and marked.
    assert re.search(r'<input id="col-0" type="number"[^>]*data-column="length" value="6.1"', body)
    assert re.search(r'<input id="col-1" type="number"[^>]*data-column="width" value=""', body)
    assert selected(body, "col-2") == ["purple"]
    assert "purple (not in the training data)" in body and ">red</option>" in body and ">blue</option>" in body
    assert '<strong id="example-label">=versicolor</strong>' in body
    assert f'data-url="http://testserver/api/jobs/{job.pk}/predict/"' in body
    assert 'src="/static/js/pages/predict.js"' in body and "chart.umd.min.js" in body


def test_the_script_box_names_the_endpoints_that_serve_the_job(alice, alice_client):
    job = onnx_job(alice, TABLE_DOC)
    assert "named-endpoints" not in page(alice_client, job)
    publish(alice, "iris", job)
    publish(alice, "iris-best", job)
    body = page(alice_client, job)
    assert "under its names: <code>http://testserver/api/models/iris/predict/</code>, " in body
    assert "<code>http://testserver/api/models/iris-best/predict/</code>." in body
    publish(alice, "iris", onnx_job(alice, TABLE_DOC, seed=1))  # moved to another job
    assert "/api/models/iris/predict/" not in page(alice_client, job)


def test_without_an_upload_to_read_the_table_form_starts_empty(alice, alice_client):
    body = page(alice_client, onnx_job(alice, TABLE_DOC))
    assert 'data-column="length" value=""' in body and "example-note" not in body
    assert selected(body, "col-2") == [""]  # the missing value: "(missing: red is used)"
    assert "(missing: red is used)" in body


def test_a_text_form_starts_with_the_first_test_text(alice, alice_client):
    reviews = 'review,sentiment\n"a good film",pos\n"<b>bad</b>, very bad",neg\n'
    job = with_upload(onnx_job(alice, TEXT_DOC), "upload.csv", reviews.encode(), [1])
    body = page(alice_client, job)
    assert (
        '<textarea id="text-input" rows="6" data-predict-input aria-describedby="text-input-errors">&lt;b&gt;bad&lt;/b&gt;, very bad</textarea>'
        in body
    )
    assert '<strong id="example-label">neg</strong>' in body


@pytest.mark.parametrize("limit", [256 * 1024, 10])
def test_an_image_form_offers_the_first_test_image_unless_it_is_large(alice, alice_client, monkeypatch, limit):
    monkeypatch.setattr("builder.datasets.kinds.images.MAX_EXAMPLE_IMAGE_BYTES", limit)
    picture = png((4, 4), "L")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cats/a.png", png((4, 4), "L", seed=1))
        archive.writestr("dogs/b.png", picture)
    job = onnx_job(alice, IMAGE_DOC)
    (job.dataset_dir / "samples.json").write_text(json.dumps({"names": {"0": "cats/a.png", "1": "dogs/b.png"}}))
    with_upload(job, "upload.zip", buffer.getvalue(), [1])
    body = page(alice_client, job)
    if limit > len(picture):
        assert f'data-example="data:image/png;base64,{base64.b64encode(picture).decode()}"' in body
        assert '<strong id="example-label">dogs</strong>' in body
    else:
        assert "data-example" not in body and 'id="image-input" type="file"' in body


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled"])
def test_a_job_that_has_not_succeeded_says_why_instead_of_a_form(alice, alice_client, status):
    body = page(alice_client, onnx_job(alice, TABLE_DOC, status=status))
    assert "This job cannot predict yet" in body
    assert f"is {status}: only a job that succeeded has a model to predict with" in body
    assert "predict-form" not in body and "predict.js" not in body


def test_a_job_whose_model_file_is_gone_says_so(alice, alice_client):
    job = onnx_job(alice, TABLE_DOC)
    (job.artifacts_dir / "model.onnx").unlink()
    body = page(alice_client, job)
    assert "model file is missing; retrain the job" in body and "predict-form" not in body


def test_an_upload_path_outside_the_data_root_is_never_read(alice, alice_client, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("length,width,colour\n9.9,9.9,red\n")
    job = with_upload(onnx_job(alice, TABLE_DOC), "upload.csv", b"length,width,colour\n1,2,red\n", [0])
    job.dataset.source = str(outside)  # an absolute path: joined to the root, it stays itself
    job.dataset.save(update_fields=["source"])
    body = page(alice_client, job)
    assert "9.9" not in body and "example-note" not in body


def test_another_users_job_and_a_missing_job_are_404(alice, bob, alice_client):
    job = onnx_job(bob, TABLE_DOC)
    assert alice_client.get(f"/jobs/{job.pk}/predict/").status_code == 404
    assert alice_client.get(f"/jobs/{job.pk + 1000}/predict/").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, alice):
    job = onnx_job(alice, TABLE_DOC)
    response = client.get(f"/jobs/{job.pk}/predict/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
