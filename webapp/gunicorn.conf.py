"""Gunicorn settings for the production web server (docs/deployment.md).

    gunicorn -c webapp/gunicorn.conf.py webapp.wsgi

Threaded workers: a predict request spends its time in ONNX Runtime and numpy, which
release the GIL, and each worker process keeps its own cache of loaded models
(LAYERLOOM_SERVING_CACHE_BYTES each), so a few processes with several threads serve more
than many single-threaded processes holding the same models many times over.
"""

from __future__ import annotations

import gc
import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
# A job-sized upload can take a while; predictions answer in milliseconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# Django (and the model cache) are loaded in each worker after the fork, never in the master.
preload_app = False


def post_worker_init(worker: Any) -> None:
    """Django and the app are loaded. Import the URLconf, and with it every view and what the
    views import (the dataset kinds pull in SciPy), now instead of in the first request; then
    keep all those objects out of every later full garbage collection, which would otherwise
    scan them all and stall whichever request triggered it."""
    from django.apps import apps
    from django.urls import get_resolver

    if apps.ready:  # (not when this configuration serves another WSGI application)
        get_resolver().url_patterns  # noqa: B018 - the import is the point
    gc.freeze()
