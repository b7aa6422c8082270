"""GET /healthz: is each part of Layerloom up? Names the part that is down."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from webapp.celery import app
from webapp.tasks import ping


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker() -> str:
    url = app.conf.broker_url
    if url.startswith("filesystem://"):
        folder = Path(app.conf.broker_transport_options["data_folder_in"])
        if not folder.is_dir():
            raise OSError(f"broker folder {folder} does not exist")
        return "ok"
    with Connection(url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def check_worker() -> str:
    """A real round trip: a ping task through the broker, answered by a worker."""
    result = ping.apply_async(queue=settings.LAYERLOOM_HEALTH_QUEUE, expires=settings.LAYERLOOM_HEALTH_TIMEOUT)
    try:
        # A polled result store (the embedded file backend) is read every 20 ms, not Celery's 0.5 s
        # default, which was most of the check's time; Redis's answer comes by subscription anyway.
        answer = result.get(timeout=settings.LAYERLOOM_HEALTH_TIMEOUT, interval=0.02)
    finally:
        with contextlib.suppress(Exception):  # nothing to forget when no worker answered
            result.forget()
    return "ok" if answer.get("pong") else "no answer"


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    parts: dict[str, str] = {}
    down: list[str] = []
    for name, check in (("database", check_database), ("broker", check_broker), ("worker", check_worker)):
        if name == "worker" and "broker" in down:
            parts[name] = "unknown: the broker is down"
            continue
        try:
            parts[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure means this part is down
            reason = str(exc) or type(exc).__name__
            if name == "worker" and "Timeout" in type(exc).__name__:
                reason = f"no worker answered within {settings.LAYERLOOM_HEALTH_TIMEOUT}s"
            parts[name] = f"down: {reason}"
            down.append(name)
    status = 503 if down else 200
    return JsonResponse({"status": "ok" if not down else "down", "down": down, "parts": parts}, status=status)
