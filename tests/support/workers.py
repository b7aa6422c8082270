"""Start and stop real `celery worker` processes for tests.

Workers run the same command line as the Procfile, pointed at the test database and
the test run's broker through the environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The URL of the database the tests are using, for a worker process to connect to."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "webapp.settings.test",
            "DATABASE_URL": test_database_url(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    name: str
    log_path: Path
    queues: str
    pids: list[int] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """kill -9 the worker and every process in its group (its pool children too)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


def start_worker(
    queues: str = "default,training",
    concurrency: int = 1,
    max_tasks_per_child: int | None = None,
    extra_env: dict[str, str] | None = None,
    wait: bool = True,
    name: str | None = None,
) -> WorkerProcess:
    """name: the Celery node name (a restarted worker reuses its predecessor's); a fresh one by default."""
    name = name or f"test-{uuid.uuid4().hex[:6]}@%h"
    log_dir = Path(settings.VAR_DIR) / "worker-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name.split('@')[0]}-{uuid.uuid4().hex[:4]}.log"
    cmd = [
        sys.executable, "-m", "celery", "-A", "webapp", "worker",
        "-Q", queues, "-c", str(concurrency), "-n", name, "-l", "INFO",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if max_tasks_per_child:
        cmd += ["--max-tasks-per-child", str(max_tasks_per_child)]
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=worker_env(extra_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    worker = WorkerProcess(proc=proc, name=name, log_path=log_path, queues=queues)
    if wait:
        wait_ready(worker)
    return worker


def wait_ready(worker: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.alive():
            raise RuntimeError(f"celery worker exited early:\n{worker.log()[-4000:]}")
        if " ready." in worker.log():
            return
        time.sleep(0.2)
    raise RuntimeError(f"celery worker not ready after {timeout}s:\n{worker.log()[-4000:]}")
