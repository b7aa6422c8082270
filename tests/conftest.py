"""Shared fixtures: users alice and bob, and real Celery worker processes."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cache import cache_is_redis, clear_cache
from tests.support.workers import WorkerProcess, start_worker
from workers.placement import training_queues

# Fixtures through which a test reaches the database (and with it the broker's workers).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--one-backend-share", default="1/1", metavar="K/N",
        help="of the tests marked one_backend, run only the K-th of N shares (split by a hash of the test id): "
        "CI runs the backend-dependent tests on each backend and gives each backend one share of the rest",
    )  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that touches no database cannot depend on the backends: mark it `one_backend`.

    Tests that do use the database but whose subject is the same on either (browser pages,
    export parity, preset quality) carry the marker explicitly. CI runs every test without it
    on both backends, and each `one_backend` test on one of them (--one-backend-share).
    """
    share, shares = (int(n) for n in config.getoption("one_backend_share").split("/"))
    kept, deselected = [], []
    for item in items:
        if item.get_closest_marker("django_db") is None and not DATABASE_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.one_backend)
        mine = zlib.crc32(item.nodeid.encode()) % shares == share - 1
        (kept if mine or item.get_closest_marker("one_backend") is None else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _live_server_without_delay() -> None:
    """The live server sends each answer as it is written (webapp.devserver), as runserver and gunicorn do."""
    from django.test.testcases import LiveServerThread

    from webapp.devserver import NoDelayThreadedWSGIServer

    LiveServerThread.server_class = NoDelayThreadedWSGIServer


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
    holder = {"worker": start_worker(queues=f"default,{training_queues()}", concurrency=1)}
    yield holder
    holder["worker"].kill()


@pytest.fixture
def celery_worker(_session_worker: dict[str, WorkerProcess]) -> WorkerProcess:
    """One real worker on both queues, shared by the session; tests using it need transactional_db.

    Should a test leave it dead (a fault test gone wrong), a fresh one takes its place, so
    one failure does not cascade through the rest of the suite.
    """
    worker = _session_worker["worker"]
    if not worker.alive() or "Unrecoverable error" in worker.log():
        worker.stop()
        worker = _session_worker["worker"] = start_worker(queues=f"default,{training_queues()}", concurrency=1)
    return worker


# A second shared worker's queue: it trains without exporting model files (LAYERLOOM_EXPORT_ARTIFACTS=0).
NO_EXPORT_QUEUE = "training-no-export"


@pytest.fixture(scope="session")
def _session_trainer_without_export(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, WorkerProcess]]:
    holder = {"worker": _start_trainer_without_export()}
    yield holder
    holder["worker"].kill()


def _start_trainer_without_export() -> WorkerProcess:
    return start_worker(queues=training_queues(NO_EXPORT_QUEUE), concurrency=1, extra_env={"LAYERLOOM_EXPORT_ARTIFACTS": "0"})


@pytest.fixture
def trainer_without_export(_session_trainer_without_export: dict[str, WorkerProcess], settings: Any) -> WorkerProcess:
    """A real worker that trains, evaluates and checkpoints like any, but writes no model files
    (ONNX, SavedModel, TFLite, the bundle): for tests that read none of them. Jobs submitted in
    the test go to its queue; tests using it need transactional_db."""
    settings.LAYERLOOM_TRAINING_QUEUE = NO_EXPORT_QUEUE
    worker = _session_trainer_without_export["worker"]
    if not worker.alive() or "Unrecoverable error" in worker.log():
        worker.kill()
        worker = _session_trainer_without_export["worker"] = _start_trainer_without_export()
    return worker


@pytest.fixture
def worker_factory(django_db_setup: None) -> Iterator[Any]:
    """Start extra workers inside a test (for crash and concurrency tests); all killed after it
    (a graceful stop would wait for whatever job a failed test left running)."""
    started: list[WorkerProcess] = []

    def factory(**kwargs: Any) -> WorkerProcess:
        worker = start_worker(**kwargs)
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        worker.kill()


@pytest.fixture
def private_queue(settings: Any) -> str:
    """Jobs submitted in this test go to a queue only this test's workers read.

    The session-wide worker also reads the "training" queue; a private queue keeps
    crash and concurrency tests in control of exactly which worker takes which job.
    """
    name = f"training-{uuid.uuid4().hex[:8]}"
    settings.LAYERLOOM_TRAINING_QUEUE = name
    return name
