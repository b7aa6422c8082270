"""Site-wide tasks: the ping that /healthz sends through the broker to a worker."""

from __future__ import annotations

import os
import socket

from celery import shared_task


@shared_task(name="webapp.ping", acks_late=False, ignore_result=False)
def ping() -> dict[str, object]:
    """Answer from whichever worker took the message, so the caller can see who did."""
    return {"pong": True, "pid": os.getpid(), "host": socket.gethostname()}
