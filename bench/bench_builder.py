"""The builder's validation round trip through the real endpoint, and the page's JS and CSS.

Each keystroke in the builder (debounced) posts the whole spec and its dataset to
POST /api/architectures/validate/. This measures that call for a 50-layer and a 200-layer
residual spec in two ways: in the server process through Django's whole handler stack
(authentication, throttling, parsing, validation, rendering; no socket), and as a full HTTP
request to a server thread on 127.0.0.1. Target (issue 11): p95 under 100 ms for 200 layers.
It also sums the script and stylesheet files the builder page loads, raw and gzipped.

Runs on the test settings (its own temporary SQLite database and folder):

    python bench/bench_builder.py [--repeat 40]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.bench_spec import residual_spec  # noqa: E402
from bench.figures import Figure, record  # noqa: E402
from builder.models import Dataset  # noqa: E402

TARGET_P95_MS = 100.0
URL = "/api/architectures/validate/"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def timed(call: Callable[[], int], repeat: int) -> list[float]:
    for _ in range(3):  # warm caches (pydantic validators, URL resolver, connections)
        assert call() == 200
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        status = call()
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, status
    return times


def page_assets(client: Client) -> list[tuple[str, int, int]]:
    """(file, bytes, gzipped bytes) of every script and stylesheet the builder page loads."""
    html = client.get("/architectures/new/").content.decode()
    urls = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assets = []
    for url in urls:
        path = finders.find(url.removeprefix(settings.STATIC_URL))
        data = Path(path).read_bytes()
        assets.append((url, len(data), len(gzip.compress(data, 9))))
    # The page's modules import the others; count them too.
    for module in sorted((ROOT / "static" / "js" / "builder").glob("*.js")):
        url = f"{settings.STATIC_URL}js/builder/{module.name}"
        if url not in urls:
            data = module.read_bytes()
            assets.append((url, len(data), len(gzip.compress(data, 9))))
    return assets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=40, help="requests per case (at most ~250: the API throttle)")
    args = parser.parse_args()

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    connection.creation.create_test_db(verbosity=0)
    user = get_user_model().objects.create_user("bench", password="x")
    token = Token.objects.create(user=user).key
    # The page also sends its dataset, so the spec is checked against it as well.
    dataset = Dataset.objects.create(owner=user, name="bench", kind="images", status="ready", sha256="0" * 64,
                                     task="classification", input_shape=[32, 32, 3], num_classes=10)  # fmt: skip

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    print(f"validation round trip, {args.repeat} requests each (median / p95, ms); target p95 < {TARGET_P95_MS:.0f} ms")
    for count in (50, 200):
        body = json.dumps({"spec": residual_spec(count), "dataset": dataset.pk}).encode()

        def in_process(body: bytes = body) -> int:
            return client.post(URL, body, content_type="application/json").status_code

        def over_http(body: bytes = body) -> int:
            request = urllib.request.Request(base + URL, body, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Token {token}"})  # fmt: skip
            with urllib.request.urlopen(request) as response:
                response.read()
                return response.status

        seen = {}
        for label, call in (("server (Django stack, no socket)", in_process), ("full HTTP request", over_http)):
            median, p95 = percentiles(timed(call, args.repeat))
            seen[label] = (median, p95)
            print(f"  {count:3d} layers, {len(body) / 1000:6.1f} KB body, {label:33s} {median:7.1f} / {p95:7.1f}"
                  f"   p95/target {p95 / TARGET_P95_MS:.2f}")  # fmt: skip
        (stack_median, stack_p95), (http_median, http_p95) = seen.values()
        record(Figure(f"{count} layers, full HTTP request, median / p95 of {args.repeat}",
                      f"{http_median:.1f} / {http_p95:.1f} ms", f"in the process, no socket: p95 {stack_p95:.1f} ms",
                      http_p95 / stack_p95, f"p95 under {TARGET_P95_MS:.0f} ms", http_p95 < TARGET_P95_MS))  # fmt: skip
    server.shutdown()

    client.force_login(user)
    assets = page_assets(client)
    print("builder page's scripts and stylesheets (bytes, gzipped):")
    for url, size, packed in assets:
        print(f"  {url:48s} {size:8,d} {packed:8,d}")
    for kind in (".js", ".css"):
        size = sum(s for u, s, _ in assets if u.endswith(kind))
        packed = sum(p for u, _, p in assets if u.endswith(kind))
        print(f"  total {kind[1:]:3s} {size:45,d} {packed:8,d}")
        record(Figure(f"the builder page's {kind[1:]} files, gzipped", f"{packed / 1000:.1f} KB",
                      f"uncompressed: {size / 1000:.1f} KB", packed / size))  # fmt: skip


if __name__ == "__main__":
    main()
