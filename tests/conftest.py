"""Shared fixtures: users alice and bob, and real Celery worker processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cache import cache_is_redis, clear_cache
from tests.support.workers import WorkerProcess, start_worker


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Sign-in and throttle counters outlive a test's transaction: no test inherits them.

    In Redis always. The database cache is a table in the test database, rolled back after
    an ordinary test; but a transactional test's flush empties only the models' tables, so
    counters written by another process (or a transactional test) stay for the next one.
    """
    marker = request.node.get_closest_marker("django_db")
    if cache_is_redis() or (marker is not None and marker.kwargs.get("transaction")):
        clear_cache()
    yield


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def alice_client(client: Any, alice: Any) -> Any:
    client.force_login(alice)
    return client


@pytest.fixture(scope="session")
def _session_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, WorkerProcess]]:
    holder = {"worker": start_worker(queues="default,training", concurrency=1)}
    yield holder
    holder["worker"].stop()


@pytest.fixture
def celery_worker(_session_worker: dict[str, WorkerProcess]) -> WorkerProcess:
    """One real worker on both queues, shared by the session; tests using it need transactional_db.

    Should a test leave it dead (a fault test gone wrong), a fresh one takes its place, so
    one failure does not cascade through the rest of the suite.
    """
    worker = _session_worker["worker"]
    if not worker.alive() or "Unrecoverable error" in worker.log():
        worker.stop()
        worker = _session_worker["worker"] = start_worker(queues="default,training", concurrency=1)
    return worker


@pytest.fixture
def worker_factory(django_db_setup: None) -> Iterator[Any]:
    """Start extra workers inside a test (for crash and concurrency tests); all stopped after it."""
    started: list[WorkerProcess] = []

    def factory(**kwargs: Any) -> WorkerProcess:
        worker = start_worker(**kwargs)
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        worker.stop()


@pytest.fixture
def private_queue(settings: Any) -> str:
    """Jobs submitted in this test go to a queue only this test's workers read.

    The session-wide worker also reads the "training" queue; a private queue keeps
    crash and concurrency tests in control of exactly which worker takes which job.
    """
    name = f"training-{uuid.uuid4().hex[:8]}"
    settings.LAYERLOOM_TRAINING_QUEUE = name
    return name
