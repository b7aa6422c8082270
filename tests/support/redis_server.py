"""A private redis-server on a free loopback port, for tests that stop and restart their broker.

The machine's shared Redis serves other runs and the rest of this one; a test that takes its
broker away starts its own server instead, and points its worker (by environment) and this
process's Celery app (`broker_of`) at it.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RedisServer:
    folder: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def up(self) -> bool:
        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 30) -> None:
        """Start (or start again, on the same port) and wait until it answers PING."""
        self.port = self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the server owns it while it runs
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.up():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start:\n{(self.folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def broker_of(app, url: str) -> Iterator[None]:
    """This process's Celery app sends to `url` inside the block (its connection pools made anew)."""
    keys = ("broker_url", "broker_write_url", "broker_read_url")  # Celery fills all three from one setting
    before = {key: app.conf[key] for key in keys}

    def repoint(urls: dict[str, str]) -> None:
        app.conf.update(urls)
        app._pool = None  # the pools are built lazily from the URLs on next use
        app.amqp._producer_pool = None

    repoint(dict.fromkeys(keys, url))
    try:
        yield
    finally:
        repoint(before)
