"""Layerloom hosts for tests: each a process tree with its own folders and environment.

A host is one command (a web server, a Celery worker) started in a working folder of its own,
with its own LAYERLOOM_VAR_DIR, LAYERLOOM_DATA_ROOT, LAYERLOOM_CACHE_DIR, HOME and TMPDIR. An
isolated host also runs in its own PID and UTS namespaces (`unshare --pid --fork --mount-proc
--uts`, as root): it has its own host name and process ids, and to workers.liveness it is
another machine, so a run it owns can only be judged dead by its heartbeat. Killing the
namespace's first process (the host's command) kills every process of the host, as a power cut
would.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.helpers import children_of
from tests.support.workers import ROOT, worker_env

FOLDERS = ("work", "var", "data", "cache", "home", "tmp")
NAMESPACES = ["unshare", "--pid", "--fork", "--mount-proc", "--uts", "--kill-child"]


def _die_with_parent() -> None:
    """In a host's first process: SIGKILL when the test process ends, however it ends (and with
    unshare's --kill-child the namespace goes with it), so no host outlives a killed test run."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def namespaces_refused() -> str:
    """Why this machine cannot start an isolated host ("" when it can)."""
    try:
        done = subprocess.run([*NAMESPACES, "--", "sh", "-c", "hostname probe && echo $$"], capture_output=True,
                              text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 and done.stdout.strip() == "1" else (done.stderr or done.stdout).strip()


def pid_namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def namespace_pids(pid: int) -> list[int]:
    """A process's ids, outermost namespace first (/proc/PID/status NSpid)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return [int(n) for n in line.split()[1:]]
    return [pid]


@dataclass
class Host:
    name: str
    folder: Path
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    isolated: bool = True
    proc: subprocess.Popen[bytes] | None = None

    def path(self, what: str) -> Path:
        return self.folder / what

    def environment(self) -> dict[str, str]:
        own = {"LAYERLOOM_VAR_DIR": self.path("var"), "LAYERLOOM_DATA_ROOT": self.path("data"),
               "LAYERLOOM_CACHE_DIR": self.path("cache"), "HOME": self.path("home"), "TMPDIR": self.path("tmp"),
               "XDG_CACHE_HOME": self.path("cache") / "xdg", "PYTHONPATH": str(ROOT)}  # fmt: skip
        return worker_env({k: str(v) for k, v in own.items()} | self.env)

    def start(self) -> None:
        for name in FOLDERS:
            self.path(name).mkdir(parents=True, exist_ok=True)
        argv = self.argv
        if self.isolated:  # the host's name, then its command as the namespace's first process
            argv = [*NAMESPACES, "--", "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *argv]
        with open(self.path("host.log"), "ab") as log:
            log.write(f"--- start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
            self.proc = subprocess.Popen(argv, cwd=self.path("work"), env=self.environment(), stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent)  # fmt: skip

    def log(self) -> str:
        path = self.path("host.log")
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def main_pid(self) -> int:
        """The host's command (for an isolated host, the namespace's first process), as this machine sees it."""
        assert self.proc is not None
        if not self.isolated:
            return self.proc.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for pid in children_of(self.proc.pid):
                if pid_namespace(pid) != pid_namespace(self.proc.pid):
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"host {self.name}: no process in its namespace\n{self.log()[-3000:]}")

    def pid_here(self, pid_in_host: int) -> int:
        """The id, on this machine, of the host's process that the host knows as pid_in_host."""
        if not self.isolated:
            return pid_in_host
        namespace = pid_namespace(self.main_pid())
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and pid_namespace(int(entry.name)) == namespace:
                try:
                    if namespace_pids(int(entry.name))[-1] == pid_in_host:
                        return int(entry.name)
                except OSError:
                    continue
        raise AssertionError(f"host {self.name} has no process {pid_in_host}")

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM to the host's command (a Celery worker's warm shutdown); its exit status."""
        assert self.proc is not None
        os.kill(self.main_pid(), signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL to every process of the host: its process group and, isolated, its whole namespace."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.isolated:
            try:
                os.kill(self.main_pid(), signal.SIGKILL)  # the namespace ends: the kernel kills all in it
            except (ProcessLookupError, AssertionError):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


def celery_host(name: str, folder: Path, queues: str, env: dict[str, str]) -> Host:
    """A Celery worker host as the Procfile's trainer runs (one process, one task per pool process);
    its node name is Celery's default, celery@<its host name>."""
    argv = [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queues, "-c", "1",
            "--max-tasks-per-child", "1", "-l", "INFO", "--without-gossip", "--without-mingle"]  # fmt: skip
    return Host(name, folder, argv, env)


def wait_celery_ready(host: Host, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert host.alive(), f"host {host.name} exited:\n{host.log()[-4000:]}"
        if " ready." in host.log().rsplit("--- start", 1)[-1]:
            return
        time.sleep(0.2)
    raise AssertionError(f"host {host.name}: worker not ready after {timeout}s\n{host.log()[-4000:]}")


REAPER = """
import json, sys
import django
django.setup()
from workers.recovery import reap_stale_jobs
print("READY", flush=True)
for _ in sys.stdin:
    print("REAPED " + json.dumps(reap_stale_jobs()), flush=True)
"""


class Reaper:
    """The recovery check (what beat runs every 30 s) in a process of a host's environment,
    run when the test asks: `reap()` is one call of workers.recovery.reap_stale_jobs there."""

    def __init__(self, host: Host) -> None:
        log = open(host.path("reaper.log"), "ab")  # noqa: SIM115 - the process owns it
        self.host = host
        self.proc = subprocess.Popen([sys.executable, "-c", REAPER], cwd=host.path("work"), env=host.environment(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                     preexec_fn=_die_with_parent)  # fmt: skip
        self._expect("READY")

    def _expect(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise AssertionError(f"the recovery check exited:\n{self.host.path('reaper.log').read_text()[-3000:]}")

    def reap(self) -> dict[str, list[int]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return json.loads(self._expect("REAPED "))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
