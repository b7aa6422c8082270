"""GET /api/datasets/{id}/?wait=S: the answer comes when the ingestion ends, or when S seconds are up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from api.waiting import slots

pytestmark = pytest.mark.django_db(transaction=True)  # another thread changes the row meanwhile


@pytest.fixture
def ingesting(alice_dataset: Any) -> Any:
    alice_dataset.status = "processing"
    alice_dataset.save(update_fields=["status"])
    return alice_dataset


@pytest.fixture
def later() -> Iterator[Callable[[float, Callable[[], None]], None]]:
    """later(seconds, change): run change on another thread (its own database connection) after seconds."""
    threads: list[threading.Thread] = []

    def schedule(seconds: float, change: Callable[[], None]) -> None:
        def run() -> None:
            time.sleep(seconds)
            try:
                change()
            finally:
                connection.close()

        threads.append(threading.Thread(target=run))
        threads[-1].start()

    yield schedule
    for thread in threads:
        thread.join()


def timed_get(api: Any, url: str) -> tuple[Any, float]:
    started = time.monotonic()
    response = api.get(url)
    return response, time.monotonic() - started


def test_the_answer_comes_when_ingestion_ends(alice_api: Any, ingesting: Any, later: Any) -> None:
    from builder.models import Dataset

    later(0.5, lambda: Dataset.objects.filter(pk=ingesting.pk).update(status="ready"))
    response, elapsed = timed_get(alice_api, f"/api/datasets/{ingesting.pk}/?wait=20")
    assert response.status_code == 200 and response.json()["status"] == "ready"
    assert 0.45 <= elapsed < 10  # held until the change, answered soon after it


def test_a_failed_ingestion_ends_the_wait_too(alice_api: Any, ingesting: Any, later: Any) -> None:
    from builder.models import Dataset

    later(0.3, lambda: Dataset.objects.filter(pk=ingesting.pk).update(status="failed", error="Bad file."))
    response, elapsed = timed_get(alice_api, f"/api/datasets/{ingesting.pk}/?wait=20")
    assert (response.json()["status"], response.json()["error"]) == ("failed", "Bad file.") and elapsed < 10


def test_the_wait_ends_with_the_state_of_the_moment(alice_api: Any, ingesting: Any) -> None:
    response, elapsed = timed_get(alice_api, f"/api/datasets/{ingesting.pk}/?wait=0.6")
    assert response.status_code == 200 and response.json()["status"] == "processing"
    assert 0.6 <= elapsed < 10


def test_a_finished_dataset_answers_at_once(alice_api: Any, alice_dataset: Any) -> None:
    response, elapsed = timed_get(alice_api, f"/api/datasets/{alice_dataset.pk}/?wait=30")
    assert response.status_code == 200 and response.json()["status"] == "ready" and elapsed < 5


def test_deleted_while_waiting_is_404(alice_api: Any, ingesting: Any, later: Any) -> None:
    from builder.models import Dataset

    later(0.3, lambda: Dataset.objects.filter(pk=ingesting.pk).delete())
    response, elapsed = timed_get(alice_api, f"/api/datasets/{ingesting.pk}/?wait=20")
    assert response.status_code == 404 and elapsed < 10


def test_another_users_dataset_is_404_without_waiting(bob_api: Any, ingesting: Any) -> None:
    response, elapsed = timed_get(bob_api, f"/api/datasets/{ingesting.pk}/?wait=20")
    assert response.status_code == 404 and elapsed < 5


@pytest.mark.parametrize("value", ["soon", "-1", "31", "nan", "inf"])
def test_a_wait_that_is_not_0_to_30_seconds_is_refused(alice_api: Any, ingesting: Any, value: str) -> None:
    response = alice_api.get(f"/api/datasets/{ingesting.pk}/?wait={value}")
    assert response.status_code == 400
    [entry] = response.json()["errors"]
    assert entry["field"] == "wait" and "number of seconds from 0 to 30" in entry["message"]


def test_past_the_waiters_allowed_a_read_answers_at_once(alice_api: Any, ingesting: Any, settings: Any) -> None:
    taken_slots = slots()
    taken = 0
    while taken_slots.acquire(blocking=False):  # as if other requests were waiting in this process
        taken += 1
    try:
        assert taken == settings.LAYERLOOM_API_WAITERS
        response, elapsed = timed_get(alice_api, f"/api/datasets/{ingesting.pk}/?wait=20")
        assert response.status_code == 200 and response.json()["status"] == "processing" and elapsed < 5
    finally:
        for _ in range(taken):
            taken_slots.release()
    response, elapsed = timed_get(alice_api, f"/api/datasets/{ingesting.pk}/?wait=0.5")
    assert elapsed >= 0.5  # a free slot: held again
