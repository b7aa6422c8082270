"""Long polls: a read that answers once its object has settled, or after at most ``wait`` seconds.

A client waiting for an ingestion otherwise polls, and learns of "ready" half an interval late on
average (the CLI polled every second, the browser every two). Here the request itself looks at the
row: every 20 ms at first, then every 2% of the time waited so far (at most every 250 ms), so a
one-second ingestion is seen within about 20 ms and a long one costs a cheap query every quarter
second. Waiting holds one of the server's threads, so each web process lets only
LAYERLOOM_API_WAITERS requests wait at once; past that a request answers at once, as a plain
read, and the client's next poll comes after its usual interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings

MAX_WAIT_SECONDS = 30  # what a request may ask for (api.serializers.WaitQuerySerializer checks it)
FIRST_LOOK_SECONDS = 0.02
LAST_LOOK_SECONDS = 0.25


@cache
def slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(max(1, int(settings.LAYERLOOM_API_WAITERS)))


def wait_until(settled: Callable[[], bool], seconds: float) -> bool:
    """Call ``settled`` until it is true or ``seconds`` have passed; False at once when every slot is taken."""
    if seconds <= 0 or settings.LAYERLOOM_API_WAITERS <= 0 or not slots().acquire(blocking=False):
        return False
    try:
        started = time.monotonic()
        while not settled():
            waited = time.monotonic() - started
            if waited >= seconds:
                return False
            time.sleep(min(seconds - waited, max(FIRST_LOOK_SECONDS, waited / 50), LAST_LOOK_SECONDS))
        return True
    finally:
        slots().release()
