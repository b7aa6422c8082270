"""The predict page in a real browser: the form posts to the job's predict endpoint and shows
the answer as a chart and a table that match what the API answers for the same input.

The first tests train real jobs on demo data with a Celery worker process (a PyTorch table
model, a Keras text model); the others use a linear ONNX model written with onnx.helper
(tests/serving/helpers.py), served by the same endpoint, to check the image form, the
field errors, a job that cannot predict and another user's job quickly.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from builder.models import Dataset
from serving.sessions import CACHE
from tests.api.conftest import token_client
from tests.e2e import test_builder_page
from tests.e2e.conftest import audit, shot
from tests.serving.helpers import IMAGE_DOC, TABLE_DOC, b64, onnx_job, png, with_upload
from tests.workers.helpers import hp, wait_status
from workers.models import TrainingJob
from workers.services import submit_job

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]
demo = test_builder_page.demo  # the fixture: one of alice's demo datasets, ingested


@pytest.fixture(autouse=True)
def _no_loaded_models() -> Iterator[None]:
    # Ids repeat between tests' databases; the live server shares this process's cache.
    CACHE.clear()
    yield
    CACHE.clear()


def trained(owner: Any, dataset: Dataset, framework: str, first: list[dict[str, Any]], worker: Any) -> TrainingJob:
    units, activation = len(dataset.class_names), "softmax"
    out = {"id": "out", "type": "Dense", "params": {"units": units, "activation": activation}}
    spec = {"format": 1, "name": "predict-page", "input": {"shape": dataset.input_shape}, "layers": [*first, out]}
    job = submit_job(
        owner, spec=spec, dataset=dataset, framework=framework, hyperparameters=hp(epochs=1, batch_size=16)
    )
    job = wait_status(job, *TrainingJob.FINISHED, timeout=300, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    return job


def predict(page: Any) -> None:
    page.get_by_role("button", name="Predict").click()
    page.wait_for_function(
        "() => ['Done.'].includes(document.getElementById('predict-state').textContent) "
        "|| document.getElementById('predict-state').textContent.startsWith('Not predicted')"
    )


def table_numbers(page: Any) -> dict[str, str]:
    cells = page.locator("#probabilities tbody tr").all()
    return {row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).inner_text() for row in cells}


def percents(answer: dict[str, Any]) -> dict[str, str]:
    return {name: f"{100 * p:.2f} %" for name, p in answer["predictions"][0]["probabilities"].items()}


def assert_accessible(page: Any) -> None:
    violations = audit(page)
    assert violations == [], "\n".join(violations)


def test_a_table_row_from_the_test_split_predicts_what_the_api_answers(
    page: Any, sign_in: Any, alice: Any, demo: Any, celery_worker: Any
) -> None:
    dataset = demo("iris")
    job = trained(alice, dataset, "torch", [{"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}}],
                  celery_worker)  # fmt: skip
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Predict with job {job.pk}"
    # Prefilled with a real row: every input column has a value, and a first click works.
    row = {label: page.get_by_label(label, exact=True).input_value()
           for label in ["sepal_length", "sepal_width", "petal_length", "petal_width"]}  # fmt: skip
    assert all(re.fullmatch(r"\d+(\.\d+)?", v) for v in row.values()), row
    assert page.locator("#example-label").inner_text() in dataset.class_names
    assert_accessible(page)
    api = token_client(alice)
    predict(page)  # the first click, on the row as filled in
    first = api.post(f"/api/jobs/{job.pk}/predict/", {"row": row}, format="json").json()
    assert table_numbers(page) == percents(first)
    # Changed, and sent with Enter from the field: the page and the API still agree.
    page.get_by_label("petal_length", exact=True).fill("4.9")
    row["petal_length"] = "4.9"
    assert '"petal_length":"4.9"' in page.locator("#curl").inner_text()
    page.get_by_label("petal_length", exact=True).press("Enter")
    page.wait_for_function("() => document.getElementById('predict-state').textContent === 'Done.'")
    answer = api.post(f"/api/jobs/{job.pk}/predict/", {"row": row}, format="json").json()
    served = answer["predictions"][0]
    assert page.locator("#answer-line .predicted").inner_text() == served["label"]
    assert table_numbers(page) == percents(answer)
    assert set(table_numbers(page)) == set(dataset.class_names)
    bars = page.evaluate("() => Chart.getChart('probabilities-chart').data.datasets[0].data")
    assert bars == pytest.approx([100 * served["probabilities"][n] for n in dataset.class_names], abs=1e-9)
    model_line = page.locator("#model-line").inner_text()
    assert f"job {job.pk} (PyTorch)" in model_line and answer["model"]["sha256"][:12] in model_line
    assert page.locator("#probabilities-chart").is_visible()
    assert page.locator("#warnings").is_hidden()
    assert_accessible(page)
    shot(page, "predict-table")
    # A length far past any flower training saw: still answered, with a warning naming the column.
    page.get_by_label("petal_length", exact=True).fill("99999")
    predict(page)
    assert page.locator("#answer-line .predicted").inner_text() in dataset.class_names
    # The range is the training split's (tests/serving/test_predict_far_outside.py checks its figures).
    assert re.fullmatch(r"Warning: 'petal_length' is 99999, far outside the [\d.]+ to [\d.]+ the training data held; "
                        r"the model's answer for it is an extrapolation, so check the value\.",
                        page.locator("#warnings").inner_text()), page.locator("#warnings").inner_text()  # fmt: skip
    page.get_by_label("petal_length", exact=True).fill("4.9")
    predict(page)
    page.set_viewport_size({"width": 1024, "height": 900})
    shot(page, "predict-table-1024")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "predict-table-phone")


def test_a_keras_text_model_predicts_from_a_pasted_text(
    page: Any, sign_in: Any, alice: Any, demo: Any, celery_worker: Any
) -> None:
    dataset = demo("reviews")
    vocabulary = json.loads((dataset.version_dir / "preprocessing.json").read_text())["text"]["vocabulary"]
    first = [{"id": "e", "type": "Embedding", "params": {"input_dim": len(vocabulary), "output_dim": 4}},
             {"id": "g", "type": "GlobalAveragePooling1D"}]  # fmt: skip
    job = trained(alice, dataset, "keras", first, celery_worker)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    box = page.get_by_label("Text", exact=True)
    assert box.input_value().strip(), "the text box starts with a review from the test split"
    assert page.locator("#example-label").inner_text() in dataset.class_names
    text = "Honestly, the plot was wonderful and the cast was charming"
    box.fill(text)
    predict(page)
    served = token_client(alice).post(f"/api/jobs/{job.pk}/predict/", {"text": text}, format="json").json()
    assert page.locator("#answer-line .predicted").inner_text() == served["predictions"][0]["label"]
    assert table_numbers(page) == percents(served)
    assert "(Keras)" in page.locator("#model-line").inner_text()
    assert_accessible(page)
    shot(page, "predict-text")


def test_a_trained_image_model_predicts_the_test_image_it_starts_with(
    page: Any, sign_in: Any, alice: Any, demo: Any, celery_worker: Any
) -> None:
    dataset = demo("digits")
    first = [{"id": "c", "type": "Conv2D", "params": {"filters": 4, "kernel_size": 3, "activation": "relu"}},
             {"id": "f", "type": "Flatten"}]  # fmt: skip
    job = trained(alice, dataset, "torch", first, celery_worker)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    example = page.get_by_label(re.compile("^Image file")).get_attribute("data-example")
    assert example.startswith("data:image/png;base64,")
    assert page.locator("#image-preview").get_attribute("src") == example
    assert page.locator("#example-label").inner_text() in dataset.class_names
    predict(page)
    served = token_client(alice).post(f"/api/jobs/{job.pk}/predict/", {"image": example}, format="json").json()
    assert page.locator("#answer-line .predicted").inner_text() == served["predictions"][0]["label"]
    assert table_numbers(page) == percents(served) and len(percents(served)) == 10
    assert_accessible(page)
    shot(page, "predict-digits")


def test_a_bad_number_is_shown_on_its_field_and_what_was_typed_stays(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any
) -> None:
    job = onnx_job(alice, TABLE_DOC)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    length, errors = page.get_by_label("length", exact=True), page.locator("#col-0-errors")
    page.get_by_label("width", exact=True).fill("3.1")
    page.get_by_label("colour", exact=True).select_option("blue")
    length.fill("1e999")  # the browser itself knows this is no usable number: nothing is sent
    predict(page)
    assert errors.inner_text() == "Enter a number, or leave it empty for a missing value."
    assert length.get_attribute("aria-invalid") == "true"
    assert page.locator("#answer").is_hidden()
    # The server's own check, for a browser that lets any text through: the server names the
    # row and its message the column, so the message goes on that column's field.
    browser_problems.allow(400, rf"/api/jobs/{job.pk}/predict/$")
    length.evaluate("input => { input.type = 'text'; }")
    length.fill("tall")
    predict(page)
    assert errors.inner_text() == "column 'length': 'tall' is not a number"
    assert length.get_attribute("aria-invalid") == "true"
    assert length.evaluate("input => input === document.activeElement")
    assert length.input_value() == "tall" and page.get_by_label("width", exact=True).input_value() == "3.1"
    assert page.get_by_label("colour", exact=True).input_value() == "blue"
    assert_accessible(page)
    shot(page, "predict-field-error")
    # A number the browser accepts but float32 cannot hold: the server's message, on the field.
    length.evaluate("input => { input.type = 'number'; }")
    length.fill("1e39")
    predict(page)
    assert errors.inner_text().startswith("column 'length': 1e+39 is too large for the model")
    assert page.locator("#answer").is_hidden()
    # Left empty it is a missing value, imputed as in training, and the model answers.
    length.fill("")
    predict(page)
    assert errors.inner_text() == ""
    assert page.locator("#answer-line .predicted").inner_text() in TABLE_DOC["class_names"]


def test_an_image_starts_from_a_test_image_and_a_chosen_file_is_previewed_and_predicted(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any, tmp_path: Any
) -> None:
    job = onnx_job(alice, IMAGE_DOC)
    example = png((4, 4), "L", seed=3)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("dogs/b.png", example)
    (job.dataset_dir / "samples.json").write_text(json.dumps({"names": {"0": "dogs/b.png"}}))
    with_upload(job, "upload.zip", buffer.getvalue(), [0])
    api = token_client(alice)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    assert page.locator("#image-preview").is_visible()  # the test image, sent when no file is chosen
    predict(page)
    served = api.post(f"/api/jobs/{job.pk}/predict/", {"image": b64(example)}, format="json").json()
    assert table_numbers(page) == percents(served)

    picture = tmp_path / "cat.png"
    picture.write_bytes(png((6, 5), "RGB"))
    page.get_by_label(re.compile("^Image file")).set_input_files(str(picture))
    assert page.locator("#image-preview").get_attribute("src").startswith("blob:")
    assert "-F image=@'cat.png'" in page.locator("#curl").inner_text()
    predict(page)
    with picture.open("rb") as handle:
        served = api.post(f"/api/jobs/{job.pk}/predict/", {"image": handle}, format="multipart").json()
    assert table_numbers(page) == percents(served)
    assert page.locator("#answer-line .predicted").inner_text() == served["predictions"][0]["label"]
    assert_accessible(page)
    shot(page, "predict-image")

    browser_problems.allow(400, rf"/api/jobs/{job.pk}/predict/$")
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    page.get_by_label(re.compile("^Image file")).set_input_files(str(fake))
    predict(page)
    assert "not a JPEG, PNG, BMP, GIF or WebP image" in page.locator("#image-input-errors").inner_text()
    assert page.get_by_label(re.compile("^Image file")).get_attribute("aria-invalid") == "true"


def test_a_category_training_never_saw_is_sent_as_the_row_has_it_and_warned_about(
    page: Any, sign_in: Any, alice: Any
) -> None:
    rows = b"length,width,colour,species\n6.1,2.8,purple,setosa\n"
    job = with_upload(onnx_job(alice, TABLE_DOC), "upload.csv", rows, [0])
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    colour = page.get_by_label("colour", exact=True)
    assert colour.input_value() == "purple"
    assert colour.locator("option:checked").inner_text() == "purple (not in the training data)"
    predict(page)
    warning = "Warning: 'purple' was not in the training data; it is encoded as an unknown category, as in training."
    assert page.locator("#warnings").inner_text() == warning
    # A known category: the warning goes.
    colour.select_option("blue")
    predict(page)
    assert page.locator("#warnings").is_hidden()


def test_an_image_over_the_body_limit_is_refused_on_the_file_field(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any, settings: Any, tmp_path: Any
) -> None:
    settings.LAYERLOOM_PREDICT_MAX_BODY_BYTES = 2_000
    job = onnx_job(alice, IMAGE_DOC)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    browser_problems.allow(413, rf"/api/jobs/{job.pk}/predict/$")
    picture = tmp_path / "big.png"
    picture.write_bytes(png((40, 40), "RGB"))
    page.get_by_label(re.compile("^Image file")).set_input_files(str(picture))
    predict(page)
    assert "over the limit of 2,000" in page.locator("#image-input-errors").inner_text()
    assert page.locator("#predict-state").inner_text() == "Not predicted (HTTP 413)."


def test_a_regression_model_answers_a_value_in_the_targets_units(page: Any, sign_in: Any, alice: Any) -> None:
    doc = {**TABLE_DOC, "task": "regression", "target_column": "price",
           "target_scaling": {"mean": 200.0, "std": 50.0}}  # fmt: skip
    job = onnx_job(alice, doc)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    row = {"length": "5.5", "width": "2.5", "colour": "red"}
    for name, value in row.items():
        field = page.get_by_label(name, exact=True)
        field.select_option(value) if name == "colour" else field.fill(value)
    page.get_by_role("button", name="Predict").focus()
    page.keyboard.press("Enter")  # the button works from the keyboard
    page.wait_for_function("() => document.getElementById('predict-state').textContent === 'Done.'")
    served = token_client(alice).post(f"/api/jobs/{job.pk}/predict/", {"row": row}, format="json").json()
    value = served["predictions"][0]["value"]
    assert page.locator("#answer-line").inner_text() == f"Predicted price: {float(f'{value:.6g}'):,g}"
    assert page.locator("#probabilities").is_hidden() and page.locator("#chart-box").is_hidden()
    assert_accessible(page)
    shot(page, "predict-regression")


def test_a_job_that_has_not_succeeded_says_so_instead_of_a_form(page: Any, sign_in: Any, alice: Any) -> None:
    job = onnx_job(alice, TABLE_DOC, status="running")
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    assert page.get_by_role("heading", name="This job cannot predict yet").is_visible()
    assert "only a job that succeeded has a model to predict with" in page.locator(".predict-problem").inner_text()
    assert page.locator("#predict-form").count() == 0
    assert_accessible(page)


def test_another_users_job_is_not_found(page: Any, sign_in: Any, alice: Any, bob: Any, browser_problems: Any) -> None:
    job = onnx_job(bob, TABLE_DOC)
    sign_in(alice)
    browser_problems.allow(404, rf"/jobs/{job.pk}/predict/$")
    response = page.goto(f"/jobs/{job.pk}/predict/")
    assert response.status == 404
    assert "length" not in page.content()
