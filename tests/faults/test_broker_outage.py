"""The broker goes away mid-training and comes back: the job finishes and a new job then runs.

With Redis (CELERY_BROKER_URL=redis://..., as in CI) the server is really stopped and
restarted. With the embedded filesystem broker the queue folder is taken away and put
back, which is what an unmounted or unreachable broker volume looks like to kombu.

Found with this test: kombu's own filesystem transport treats a missing queue folder as an
unrecoverable error, and every worker reading it exits; the project's transport
(webapp/broker.py) treats it as an outage instead. Either way the contract is the same: the
running job trains through, and the same worker consumes again afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.faults.helpers import fault_worker, long_job
from tests.workers.helpers import wait_for, wait_status
from workers.models import TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def redis_up() -> bool:
    ping = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True, timeout=10)
    return ping.stdout.strip() == b"PONG"


def start_redis(timeout: float = 60) -> None:
    """Start the server again and wait until it answers.

    `redis-server --daemonize yes` returns before the new server has bound its port (and
    exits 0 even when binding fails because the old one still holds it), so start it
    again until a PING answers instead of trusting one start.
    """
    deadline = time.monotonic() + timeout
    while not redis_up():
        if time.monotonic() > deadline:
            raise AssertionError(f"Redis did not come back within {timeout}s")
        subprocess.run(REDIS_START, check=False, timeout=20, capture_output=True)
        answers_within(redis_up, 5)


def answers_within(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def redis_outage(seconds: float) -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], check=False, timeout=20)
    try:
        wait_for(lambda: not redis_up(), 20, 0.2, what="Redis to stop")
        time.sleep(seconds)  # the outage itself: a stretch of time with no broker
    finally:
        # Whatever happened above, the rest of the suite needs its broker back.
        start_redis()


MISSING = "is missing; waiting for it to come back"


def folder_outage(seconds: float, worker: Any, noticed_within: float = 60) -> bool:
    """Take the queue folder away for at least `seconds`, and until the worker logs that it
    noticed (at most `noticed_within` seconds): whether it did.

    The worker polls every 0.2 s, but on a loaded 2-core machine its main process can go
    unscheduled for longer than a fixed outage; the contract is that it notices and rides
    the outage out, not how fast.
    """
    queue = Path(settings.BROKER_DIR) / "queue"
    away = queue.with_name("queue.away")
    shutil.move(queue, away)
    try:
        time.sleep(seconds)
        return answers_within(lambda: MISSING in worker.log(), noticed_within)
    finally:
        shutil.move(away, queue)


def test_job_survives_a_broker_outage_and_the_worker_consumes_again(alice, worker_factory, private_queue):
    worker = fault_worker(worker_factory, private_queue)
    # 4,500 batches an epoch, 20 epochs (10-20 s on the CPU): still training after the outage.
    job = long_job(alice, epochs=20, n=60000)

    def training() -> bool:
        job.refresh_from_db()
        assert job.status in ("queued", "running"), f"job {job.status}: {job.error}\n{worker.log()[-3000:]}"
        return job.status == "running"

    wait_for(training, 180, 0.1, "training to start")
    if settings.CELERY_BROKER_IS_FILESYSTEM:
        noticed = folder_outage(3, worker)
        assert noticed, f"the worker never saw the queue folder missing:\n{worker.log()[-3000:]}"
    else:
        redis_outage(2)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.RUNNING, "the job did not train through the outage"
    job = wait_status(job, *TrainingJob.FINISHED, timeout=420, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.attempts == 1  # it was never restarted

    assert worker.alive(), worker.log()[-3000:]
    # The same worker consumes again (celery #8030): a new job runs to the end.
    after = long_job(alice, epochs=1, n=200)
    after = wait_status(after, *TrainingJob.FINISHED, timeout=240, worker=worker)
    assert after.status == TrainingJob.Status.SUCCEEDED, after.error
