"""The broker goes away mid-training and comes back: the job finishes and a new job then runs.

With Redis (CELERY_BROKER_URL=redis://..., as in CI) a Redis server of the test's own, on a
free loopback port, is really stopped and restarted; the machine's shared one is never touched. With the embedded filesystem broker the queue folder is taken away and put
back, which is what an unmounted or unreachable broker volume looks like to kombu.

Found with this test: kombu's own filesystem transport treats a missing queue folder as an
unrecoverable error, and every worker reading it exits; the project's transport
(webapp/broker.py) treats it as an outage instead. Either way the contract is the same: the
running job trains through, and the same worker consumes again afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.faults.helpers import fault_worker, frozen_after_a_checkpoint, long_job
from tests.support.redis_server import RedisServer, broker_of, redis_server
from tests.workers.helpers import wait_for, wait_status
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)

def redis_outage(server: RedisServer, seconds: float) -> None:
    """Stop this test's own Redis for `seconds`, then start it again on the same port."""
    server.stop()
    try:
        time.sleep(seconds)  # the outage itself: a stretch of time with no broker
    finally:
        server.start()


MISSING = "is missing; waiting for it to come back"


def folder_outage(seconds: float, worker: Any, noticed_within: float = 60) -> None:
    """Take the queue folder away for at least `seconds`, and until the worker logs that it
    noticed (at most `noticed_within` seconds).

    The worker polls every 0.2 s, but on a loaded 2-core machine its main process can go
    unscheduled for longer than a fixed outage; the contract is that it notices and rides
    the outage out, not how fast.
    """
    queue = Path(settings.BROKER_DIR) / "queue"
    away = queue.with_name("queue.away")
    shutil.move(queue, away)
    try:
        time.sleep(seconds)
        wait_for(lambda: MISSING in worker.log(), noticed_within, 0.2, "the worker to log the queue folder missing")
    finally:
        shutil.move(away, queue)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[dict[str, str]]:
    """On Redis, a server of this test's own (the shared one is left alone): the worker's
    environment for it, and this process sends to it. On the embedded broker, nothing to change."""
    if settings.CELERY_BROKER_IS_FILESYSTEM:
        yield {}
        return
    from webapp.celery import app

    with redis_server(tmp_path / "redis") as server, broker_of(app, server.url):
        # The worker keeps the run's cache (throttle counters) where this process has it.
        yield {"CELERY_BROKER_URL": server.url, "CELERY_RESULT_BACKEND": server.url,
               "CACHE_URL": settings.CACHES["default"].get("LOCATION", ""), "server": server}  # fmt: skip


def test_job_survives_a_broker_outage_and_the_worker_consumes_again(alice, worker_factory, private_queue, broker):
    server = broker.pop("server", None)
    worker = fault_worker(worker_factory, private_queue, **broker)
    # Frozen (SIGSTOP) once it has checkpointed an epoch: still running when the outage ends, however
    # fast the machine, without a long job. Its worker's main process is what meets the outage.
    job = long_job(alice, epochs=4, n=3000)
    frozen = frozen_after_a_checkpoint(job, 4)
    try:
        if settings.CELERY_BROKER_IS_FILESYSTEM:
            folder_outage(3, worker)
        else:
            redis_outage(server, 2)
    finally:
        os.kill(frozen, signal.SIGCONT)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.RUNNING, "the job did not train through the outage"
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.attempts == 1  # it was never restarted

    assert worker.alive(), worker.log()[-3000:]
    # The same worker consumes again (celery #8030): a new job runs to the end.
    after = long_job(alice, epochs=1, n=200)
    after = wait_status(after, *TrainingJob.FINISHED, timeout=240, worker=worker)
    assert after.status == TrainingJob.Status.SUCCEEDED, after.error


def lose_the_queued_messages(queue: str, server: RedisServer | None) -> None:
    """Redis restarted without persistence comes back empty; on the embedded broker the queue's
    message files go (what a lost or recreated broker volume looks like)."""
    if server is not None:
        server.stop()
        server.start()
        return
    from webapp.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def test_a_job_whose_message_the_broker_lost_is_sent_again_and_runs(
    alice, worker_factory, private_queue, broker, settings
):
    from workers import lifecycle, recovery

    server = broker.pop("server", None)
    job = long_job(alice, epochs=1, n=200)  # no worker reads the private queue yet: it waits there
    job.refresh_from_db()
    assert job.dispatched_at is not None and lifecycle.queue_depth(job.queue) == 1
    settings.LAYERLOOM_RESEND_LOST_AFTER = 0
    assert recovery.dispatch_all()["jobs_resent"] == []  # its message is in the queue: nothing to resend

    lose_the_queued_messages(job.queue, server)
    assert lifecycle.queue_depth(job.queue) == 0
    assert recovery.dispatch_all()["jobs_resent"] == [job.pk]
    assert lifecycle.queue_depth(job.queue) == 1
    assert recovery.dispatch_all()["jobs_resent"] == []  # one message, not one per round

    worker = fault_worker(worker_factory, private_queue, **broker)
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.attempts == 1
