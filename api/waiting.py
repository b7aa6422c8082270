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
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request

MAX_WAIT_SECONDS = 30
FIRST_LOOK_SECONDS = 0.02
LAST_LOOK_SECONDS = 0.25

WAIT_PARAMETER = OpenApiParameter(
    "wait",
    OpenApiTypes.NUMBER,
    description=(
        f"Seconds (0 to {MAX_WAIT_SECONDS}) to hold the answer while the object is still pending or "
        "processing: it comes as soon as that ends, or when the time is up. When the server already holds "
        "as many waiting requests as it allows, it answers at once."
    ),
)


def requested_wait(request: Request) -> float:
    """The ``wait`` query parameter in seconds (0 when absent); 400 naming it when it is not 0-30."""
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT_SECONDS:  # also refuses NaN
        message = f"Give wait as a number of seconds from 0 to {MAX_WAIT_SECONDS}, for example wait=10."
        raise exceptions.ValidationError({"wait": [exceptions.ErrorDetail(message, code="invalid")]})
    return seconds


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
