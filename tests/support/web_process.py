"""Start a real web process (Django's server, its own process) for tests that need one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.redis_server import free_port
from tests.support.workers import ROOT, worker_env
from tests.workers.helpers import wait_for


@dataclass
class WebProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def web_process(name: str, *options: str, env: dict[str, str] | None = None) -> Iterator[WebProcess]:
    """`manage.py runserver` on a free loopback port with the tests' database, its output in var/."""
    port = free_port()
    log_path = ROOT / "var" / f"{name}-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", *options],
        cwd=ROOT, env=worker_env(env), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    web = WebProcess(proc, f"http://127.0.0.1:{port}", log_path)

    def up() -> bool:
        assert proc.poll() is None, web.log()
        try:
            return requests.get(f"{web.url}/accounts/login/", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, 60, 0.2, "the web process to answer")
        yield web
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
