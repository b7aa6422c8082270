"""Named model endpoints: publish, predict by name, re-point with history, per-user names."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from serving.models import EndpointHistory, ModelEndpoint
from tests.serving.helpers import TABLE_DOC, expected, onnx_job
from tests.support.cache import cache_is_redis

ROW = {"length": 5.1, "width": 3.5, "colour": "red"}


@pytest.mark.django_db
def test_publish_predict_repoint_and_read_the_history(alice, alice_api):
    first, second = onnx_job(alice, TABLE_DOC, seed=1), onnx_job(alice, TABLE_DOC, seed=2)
    response = alice_api.post("/api/models/", {"name": "iris", "job": first.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["job"] == first.pk and response.json()["history"][0]["until"] is None

    body = alice_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").json()
    assert body["model"]["job"] == first.pk and body["model"]["endpoint"] == "iris"
    assert list(body["predictions"][0]["probabilities"].values()) == pytest.approx(expected(first, [ROW])[0])

    response = alice_api.post("/api/models/", {"name": "iris", "job": second.pk}, format="json")
    assert response.status_code == 200
    body = alice_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").json()
    assert body["model"]["job"] == second.pk
    assert body["model"]["sha256"] == second.artifacts.get(kind="onnx").sha256
    assert list(body["predictions"][0]["probabilities"].values()) == pytest.approx(expected(second, [ROW])[0])

    detail = alice_api.get("/api/models/iris/").json()
    history = detail["history"]
    assert [h["job"] for h in history] == [first.pk, second.pk] and detail["job"] == second.pk
    assert history[0]["until"] == history[1]["since"] and history[1]["until"] is None
    # The same job again changes nothing.
    assert alice_api.post("/api/models/", {"name": "iris", "job": second.pk}, format="json").status_code == 200
    assert len(alice_api.get("/api/models/iris/").json()["history"]) == 2
    assert [e["name"] for e in alice_api.get("/api/models/").json()["results"]] == ["iris"]

    assert alice_api.delete("/api/models/iris/").status_code == 204
    assert not ModelEndpoint.objects.exists() and not EndpointHistory.objects.exists()
    assert alice_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").status_code == 404


@pytest.mark.django_db
def test_names_are_per_user(alice, bob, alice_api, bob_api):
    alices, bobs = onnx_job(alice, TABLE_DOC, seed=1), onnx_job(bob, TABLE_DOC, seed=2)
    assert alice_api.post("/api/models/", {"name": "iris", "job": alices.pk}, format="json").status_code == 201
    assert bob_api.get("/api/models/iris/").status_code == 404
    assert bob_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").status_code == 404
    # Bob may use the same name for his own job; naming Alice's job is a 404 on the field.
    response = bob_api.post("/api/models/", {"name": "iris", "job": alices.pk}, format="json")
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "job"
    assert bob_api.post("/api/models/", {"name": "iris", "job": bobs.pk}, format="json").status_code == 201
    assert alice_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").json()["model"]["job"] == alices.pk
    assert bob_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").json()["model"]["job"] == bobs.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"name": "Iris Model!", "job": None}, 400, "name", "lower-case letters"),
        ({"name": "", "job": None}, 400, "name", "may not be blank"),
        ({"job": None}, 400, "name", "required"),
        ({"name": "iris", "job": "seven"}, 400, "job", "valid integer"),
        ({"name": "iris", "job": 999999}, 404, "job", "No job with id 999999"),
        ({"name": "iris", "job": "running"}, 409, None, "only a job that succeeded"),
    ],
)
def test_bad_publish_requests(alice, alice_api, body, status, field, words):
    good = onnx_job(alice, TABLE_DOC)
    running = onnx_job(alice, TABLE_DOC, status="running")
    body = {**body, "job": {None: good.pk, "running": running.pk}.get(body.get("job"), body.get("job"))}
    if body["job"] is None:
        body.pop("job")
    response = alice_api.post("/api/models/", body, format="json")
    assert response.status_code == status, response.json()
    entry = response.json()["errors"][0]
    assert entry["field"] == field and words in entry["message"], entry
    assert not ModelEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_repoints_leave_one_open_history_row(alice):
    """Several requests re-point one name at once: every history row but the last is closed,
    and the name points at the job of the open row."""
    from serving.endpoints import publish

    jobs = [onnx_job(alice, TABLE_DOC, seed=i) for i in range(4)]
    publish(alice, "race", jobs[0])
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []
    repointed: list[int] = []

    def repoint(job):
        try:
            barrier.wait(5)
            for _ in range(3):
                publish(alice, "race", job)
                repointed.append(job.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=repoint, args=(job,)) for job in jobs[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if connection.vendor == "sqlite":  # SQLite's lock may refuse a writer outright; that is not a wrong answer
        failures = [f for f in failures if "locked" not in str(f)]
    assert not failures, failures
    # SQLite may refuse some racers, but not all: a race that re-pointed nothing proved nothing.
    assert repointed, "no re-point ran"
    endpoint = ModelEndpoint.objects.get(name="race")
    history = list(endpoint.history.order_by("since", "id"))
    assert len(history) >= 2 and history[-1].job_id in repointed, [(h.job_id, h.until) for h in history]
    open_rows = [h for h in history if h.until is None]
    assert len(open_rows) == 1 and open_rows[0].job_id == endpoint.job_id
    for before, after in zip(history, history[1:], strict=False):
        assert before.until is not None and before.until <= after.since


@pytest.mark.django_db
def test_a_warm_prediction_looks_up_its_job_and_model_in_one_query(alice, alice_api):
    """Token, throttle counter and the job's state with its model file's identity: nothing per request beyond.
    With Redis the token's user and the job are kept in the process (api.request_cache): no query at all."""
    from django.test.utils import CaptureQueriesContext

    job = onnx_job(alice, TABLE_DOC)
    assert alice_api.post("/api/models/", {"name": "iris", "job": job.pk}, format="json").status_code == 201
    for url in (f"/api/jobs/{job.pk}/predict/", "/api/models/iris/predict/"):
        assert alice_api.post(url, {"row": ROW}, format="json").status_code == 200  # loads the model
        with CaptureQueriesContext(connection) as queries:
            assert alice_api.post(url, {"row": ROW}, format="json").status_code == 200
        if cache_is_redis():
            assert queries.captured_queries == [], [q["sql"] for q in queries.captured_queries]
            continue
        model_queries = [q["sql"] for q in queries.captured_queries if "workers_artifact" in q["sql"]]
        assert len(model_queries) == 1, model_queries  # the subquery of the job's (or name's) one lookup
        assert "workers_trainingjob" in model_queries[0]
        # Only the job's state: the dataset and the spec are read to load a model, not to use it.
        job_queries = [q["sql"] for q in queries.captured_queries if "workers_trainingjob" in q["sql"]]
        assert len(job_queries) == 1 and "builder_dataset" not in job_queries[0], job_queries
        assert '"workers_trainingjob"."spec"' not in job_queries[0], job_queries[0]


@pytest.mark.django_db
def test_a_serving_job_is_not_deleted_and_a_job_that_served_keeps_its_record(
    alice, alice_api, django_capture_on_commit_callbacks
):
    """Deleting a job that serves was a 500 (RestrictedError), alone and with its dataset."""
    first, second = onnx_job(alice, TABLE_DOC, seed=1), onnx_job(alice, TABLE_DOC, seed=2)
    assert alice_api.post("/api/models/", {"name": "iris", "job": first.pk}, format="json").status_code == 201

    refused = alice_api.delete(f"/api/jobs/{first.pk}/")
    assert refused.status_code == 409
    assert f"job {first.pk} under 'iris'" in refused.json()["message"]
    with_jobs = alice_api.delete(f"/api/datasets/{first.dataset_id}/?with_jobs=true")
    assert with_jobs.status_code == 409 and "'iris'" in with_jobs.json()["message"]
    assert first.artifacts.get(kind="onnx").stored_file() is not None  # nothing was half-deleted

    # Re-pointed, the first job may go: its files go with it, the name's history keeps its record.
    assert alice_api.post("/api/models/", {"name": "iris", "job": second.pk}, format="json").status_code == 200
    folder = first.job_dir
    with django_capture_on_commit_callbacks(execute=True):  # the folder goes once the delete commits
        assert alice_api.delete(f"/api/jobs/{first.pk}/").status_code == 204
    assert not folder.exists()
    history = alice_api.get("/api/models/iris/").json()["history"]
    assert [(h["job"], h["job_deleted"]) for h in history] == [(first.pk, True), (second.pk, False)]
    assert history[0]["until"] == history[1]["since"]
    assert alice_api.post("/api/models/iris/predict/", {"row": ROW}, format="json").status_code == 200


@pytest.mark.django_db
def test_new_names_stop_at_the_limit_and_re_pointing_still_works(alice, alice_api, settings):
    settings.LAYERLOOM_MAX_ENDPOINTS = 2
    first, second = onnx_job(alice, TABLE_DOC, seed=1), onnx_job(alice, TABLE_DOC, seed=2)
    for name in ("a", "b"):
        assert alice_api.post("/api/models/", {"name": name, "job": first.pk}, format="json").status_code == 201
    refused = alice_api.post("/api/models/", {"name": "c", "job": first.pk}, format="json")
    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["field"] == "name" and "You already have 2 named model endpoints (the limit is 2)" in error["message"]
    assert alice_api.post("/api/models/", {"name": "b", "job": second.pk}, format="json").status_code == 200
    usage = alice_api.get("/api/usage/").json()
    assert (usage["endpoints"], usage["endpoints_limit"]) == (2, 2)
