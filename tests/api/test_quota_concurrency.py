"""50 simultaneous submissions through the HTTP API never exceed the per-user quota.

The requests go to a live server (one thread per request, each with its own database
connection) so the quota check really races: on PostgreSQL the owner's row lock
serialises it, on SQLite the IMMEDIATE transaction does.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
import requests
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from rest_framework.authtoken.models import Token

from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)

SUBMISSIONS = 50
QUOTA = 3


class WideBacklogServer(ThreadedWSGIServer):
    # socketserver listens with a backlog of 5 (Django's server: 10); 50 simultaneous connects overflow it.
    request_queue_size = 128


class Server(LiveServerThread):
    server_class = WideBacklogServer


@pytest.fixture
def server_url() -> Iterator[str]:
    thread = Server("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


def test_fifty_concurrent_submissions_respect_the_quota(
    server_url: str, alice: Any, alice_architecture: Any, alice_dataset: Any, settings: Any
) -> None:
    settings.LAYERLOOM_MAX_ACTIVE_JOBS = QUOTA
    settings.LAYERLOOM_TRAINING_QUEUE = "api-tests-unconsumed"  # no worker finishes a job mid-test
    token = Token.objects.create(user=alice).key
    body = {"architecture": alice_architecture.pk, "dataset": alice_dataset.pk, "framework": "keras"}
    start = Barrier(SUBMISSIONS)

    def submit(_: int) -> tuple[int, Any]:
        with requests.Session() as session:
            start.wait(timeout=30)  # release them together
            response = session.post(f"{server_url}/api/jobs/", json=body, timeout=60,
                                    headers={"Authorization": f"Token {token}"})  # fmt: skip
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
        results = list(pool.map(submit, range(SUBMISSIONS)))

    codes = sorted(code for code, _ in results)
    assert codes == [201] * QUOTA + [400] * (SUBMISSIONS - QUOTA), codes
    refused = [body for code, body in results if code == 400]
    assert all(b["errors"][0]["field"] == "quota" for b in refused)
    assert TrainingJob.objects.filter(owner=alice, status__in=TrainingJob.ACTIVE).count() == QUOTA
