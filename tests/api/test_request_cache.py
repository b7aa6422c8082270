"""The per-process request cache (api.request_cache): a token's user and a predict request's
job or named endpoint are kept, and dropped as soon as another process changes them.

"Another process" is a real one: a Python process with the test settings, on the test
database and the test run's Redis keys, makes the change while this process holds the entry.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from api import request_cache
from tests.api.conftest import token_client
from tests.serving.helpers import TABLE_DOC, onnx_job
from tests.support.cache import cache_is_redis
from tests.support.workers import ROOT, worker_env
from webapp.cache import redis_client

ROW = {"length": 5.1, "width": 3.5, "colour": "red"}


@pytest.fixture(autouse=True)
def _empty_request_cache() -> Any:
    request_cache.clear()
    yield
    request_cache.clear()


def in_another_process(code: str) -> None:
    """Run ``code`` after django.setup() in a new Python process on this run's database and cache."""
    script = f"import django\ndjango.setup()\n{code}\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=worker_env(), capture_output=True,
                          text=True, timeout=90)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.django_db(transaction=True)
def test_a_token_revoked_in_another_process_is_refused_by_the_next_request(alice: Any) -> None:
    client = token_client(alice)
    assert client.get("/api/models/").status_code == 200
    assert client.get("/api/models/").status_code == 200  # the token's user is kept here now
    key = Token.objects.get(user=alice).key
    in_another_process(f"from rest_framework.authtoken.models import Token; Token.objects.filter(key={key!r}).delete()")
    assert client.get("/api/models/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_user_deactivated_in_another_process_is_refused_by_the_next_request(alice: Any) -> None:
    client = token_client(alice)
    assert client.get("/api/models/").status_code == 200
    in_another_process(
        "from django.contrib.auth import get_user_model\n"
        f"u = get_user_model().objects.get(pk={alice.pk}); u.is_active = False; u.save()"
    )
    assert client.get("/api/models/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_name_repointed_in_another_process_answers_with_its_new_job_at_once(alice: Any, bob: Any) -> None:
    first, second = onnx_job(alice, TABLE_DOC, seed=1), onnx_job(alice, TABLE_DOC, seed=2)
    client = token_client(alice)
    assert client.post("/api/models/", {"name": "iris", "job": first.pk}, format="json").status_code == 201
    for _ in range(2):  # the second is answered from the cache
        body = client.post("/api/models/iris/predict/", {"row": ROW}, format="json").json()
        assert body["model"]["job"] == first.pk
    in_another_process(
        "from django.contrib.auth import get_user_model\nfrom serving.endpoints import publish\n"
        "from workers.models import TrainingJob\n"
        f"publish(get_user_model().objects.get(pk={alice.pk}), 'iris', TrainingJob.objects.get(pk={second.pk}))"
    )
    body = client.post("/api/models/iris/predict/", {"row": ROW}, format="json").json()
    assert body["model"]["job"] == second.pk
    # Deleted in another process: the name is gone (404), and so is the job it served before.
    in_another_process("from serving.models import ModelEndpoint; ModelEndpoint.objects.filter(name='iris').delete()")
    assert client.post("/api/models/iris/predict/", {"row": ROW}, format="json").status_code == 404
    assert client.post(f"/api/jobs/{first.pk}/predict/", {"row": ROW}, format="json").status_code == 200
    in_another_process(f"from workers.models import TrainingJob; TrainingJob.objects.filter(pk={first.pk}).delete()")
    assert client.post(f"/api/jobs/{first.pk}/predict/", {"row": ROW}, format="json").status_code == 404
    # Another user's request never sees alice's entries.
    assert token_client(bob).post(f"/api/jobs/{second.pk}/predict/", {"row": ROW}, format="json").status_code == 404


@pytest.mark.django_db
def test_a_warm_prediction_is_two_redis_round_trips_and_no_query(alice: Any, monkeypatch: Any) -> None:
    """The token's and the user's generations in one MGET, the throttle in one script; no SQL."""
    job = onnx_job(alice, TABLE_DOC)
    client = token_client(alice)
    url = f"/api/jobs/{job.pk}/predict/"
    assert client.post(url, {"row": ROW}, format="json").status_code == 200
    redis = redis_client()
    if redis is None:  # the database cache: nothing is kept, each request reads its token and job
        with CaptureQueriesContext(connection) as queries:
            assert client.post(url, {"row": ROW}, format="json").status_code == 200
        assert any("authtoken_token" in q["sql"] for q in queries.captured_queries)
        return
    commands: list[str] = []
    original = redis.execute_command

    def counted(*args: Any, **kwargs: Any) -> Any:
        commands.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(redis, "execute_command", counted)
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, {"row": ROW}, format="json").status_code == 200
    assert queries.captured_queries == []
    assert commands == ["MGET", "EVALSHA"], commands


@pytest.mark.django_db(transaction=True)
def test_a_lost_change_is_outlived_for_at_most_the_entry_lifetime(alice: Any, settings: Any) -> None:
    """A token deleted with no signal (as if Redis had lost the new generation) is refused once the entry expires."""
    settings.LAYERLOOM_REQUEST_CACHE_SECONDS = 1
    client = token_client(alice)
    assert client.get("/api/models/").status_code == 200
    with connection.cursor() as cursor:  # no signal: the generation stays
        cursor.execute("DELETE FROM authtoken_token WHERE user_id = %s", [alice.pk])
    if cache_is_redis():
        assert client.get("/api/models/").status_code == 200  # still the kept entry
        time.sleep(1.1)
    assert client.get("/api/models/").status_code == 401
