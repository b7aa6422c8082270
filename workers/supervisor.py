"""Runs one job from inside a Celery task: takes it atomically, then trains in a child.

Why a child process: TensorFlow and torch are imported only there (never in the Celery
parent, so CUDA is never initialised before a fork), and all of the framework's memory,
GPU memory included, is returned when the child exits. The supervisor keeps the job's
heartbeat, enforces the soft time limit and turns a child that died into a message.

Standby children: importing Django and a framework takes seconds, most of the time from
submission to the first batch. A training worker's pool process therefore starts, when it
starts, one child per framework in LAYERLOOM_STANDBY_FRAMEWORKS that imports ahead and waits
for a job id on stdin; a job goes to the waiting child of its framework (the others stay
waiting), and the supervisor starts a replacement after the job unless the pool process is
about to be replaced anyway (--max-tasks-per-child 1). Each child still runs one job only.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.utils import timezone

from builder.codegen.frameworks import NAMES as FRAMEWORKS
from workers.exits import describe_exit, oom_kills
from workers.lifecycle import claim, finish, hand_over, interrupted, update_run
from workers.models import TrainingJob
from workers.training.backends import threads

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
Status = TrainingJob.Status


def run_job(job_id: int, node: str) -> str:
    token = claim(job_id, node)
    if token is None:
        return "skipped"
    heartbeat = Heartbeat(job_id, token)
    framework = TrainingJob.objects.filter(pk=job_id).values_list("framework", flat=True).first() or ""
    oom_before = oom_kills()
    child = start_child(job_id, token, framework)
    heartbeat.start()
    try:
        rc = wait_for(child, deadline=time.monotonic() + settings.LAYERLOOM_JOB_TIME_LIMIT)
    except (SoftTimeLimitExceeded, TimeLimitReached):
        stop_child(child)
        limit = settings.LAYERLOOM_JOB_TIME_LIMIT
        finish(job_id, token, Status.FAILED, f"Stopped: the job reached its time limit of {limit} seconds.")
        return "time limit"
    except TrainerShuttingDown:
        # At once, and the job first: Celery's main process may exit before this one is done, and this
        # process goes with it. The handover fences the run (its token is cleared), so the child's last
        # moments write nothing to the job; checkpoints are written whole (a rename), so what it saved
        # stays, and only the epoch in progress is lost.
        log.warning("job %s: the trainer is shutting down; handing the job back to its queue", job_id)
        hand_over(job_id, token, f"Attempt {attempt(job_id)} stopped: its trainer ({node}) was shut down. "
                                 "Resumed from its last checkpoint on the next free trainer.")  # fmt: skip
        stop_child(child, grace=0)
        return "handed over"
    finally:
        heartbeat.stop()
        if STANDBY.rewarm:
            STANDBY.start(framework)  # ready for this worker's next job
    # No-ops when the child recorded its own result (the job is no longer running).
    ended = describe_exit(rc, oom_before, oom_kills())
    if ended.resumable:  # stopped from outside (a signal): resume from the checkpoint while attempts remain
        interrupted(job_id, token, f"Attempt {attempt(job_id)} stopped: {ended.message[0].lower()}{ended.message[1:]}")
    else:
        finish(job_id, token, Status.FAILED, ended.message)
    return f"child exited {rc}"


def attempt(job_id: int) -> int:
    return TrainingJob.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 0


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the supervisor dies (kill -9, hard time limit)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the child also watches its parent pid


def spawn(args: list[str], stdin: int | None = None) -> subprocess.Popen[bytes]:
    """A job process, in this process's group (a kill of the worker's group reaches it).

    Call from the pool process's main thread only: PR_SET_PDEATHSIG fires when the thread
    that started the child ends, not the process.
    """
    # Thread counts and a sleeping OpenMP wait policy are read when the framework loads: set them now.
    env = threads.child_environment(os.environ, threads.configured_threads())
    env["LAYERLOOM_SUPERVISOR_PID"] = str(os.getpid())
    cmd = [sys.executable, "-m", "workers.training.child", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=stdin, preexec_fn=_die_with_parent)  # noqa: PLW1509


def start_child(job_id: int, token: str, framework: str = "") -> subprocess.Popen[bytes]:
    """The job's process: this worker's standby for the framework if one waits, else a fresh one."""
    child = STANDBY.take(framework)
    if child is not None:
        try:
            assert child.stdin is not None
            child.stdin.write(f"{job_id} {token}\n".encode())
            child.stdin.close()
            log.info("job %s: handed to the waiting %s process %s", job_id, framework, child.pid)
            return child
        except OSError:  # it died between the check and the write
            log.warning("job %s: standby %s child gone (exit %s); starting a fresh one", job_id, framework,
                        child.poll())  # fmt: skip
    return spawn([str(job_id), token])


class Standby:
    """This pool process's waiting children, one per framework (see the module docstring)."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.frameworks: list[str] = []
        self.rewarm = False  # start a replacement after each job

    def enable(self, frameworks: list[str], rewarm: bool) -> None:
        self.frameworks = [name for name in frameworks if name in FRAMEWORKS]
        self.rewarm = rewarm and bool(self.frameworks)
        for name in self.frameworks:
            self.start(name)

    def start(self, framework: str) -> None:
        if framework not in self.frameworks:
            return
        current = self.children.get(framework)
        if current is None or current.poll() is not None:
            self.children[framework] = spawn(["--standby", framework], stdin=subprocess.PIPE)

    def take(self, framework: str) -> subprocess.Popen[bytes] | None:
        child = self.children.pop(framework, None)
        if child is not None and child.poll() is not None:
            log.warning("standby %s child had exited (%s); starting a fresh one", framework, child.returncode)
            return None
        return child


STANDBY = Standby()


class TimeLimitReached(Exception):
    """The job ran for LAYERLOOM_JOB_TIME_LIMIT seconds."""


class TrainerShuttingDown(Exception):
    """The worker is in a warm shutdown: hand the running job back to the queue."""


# Set in a training worker's pool process when its worker begins a warm shutdown (SIGTERM):
# Celery would wait for the job to end, which may take hours; the job goes back to the queue
# instead and resumes from its checkpoint on the next free trainer (workers.tasks connects it).
HANDOVER = threading.Event()
HANDOVER_SIGNAL = signal.SIGUSR2


def request_handover(signum: int = 0, frame: object = None) -> None:
    HANDOVER.set()


def wait_for(child: subprocess.Popen[bytes], deadline: float) -> int:
    # The supervisor keeps the time limit itself (Celery's soft and hard limits stay as a
    # backstop); short waits also let Celery's soft-limit signal and a handover through promptly.
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if HANDOVER.is_set():
                raise TrainerShuttingDown from None
            if time.monotonic() > deadline:
                raise TimeLimitReached from None


def stop_child(child: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM, then SIGKILL after grace seconds (at once with grace=0)."""
    if child.poll() is None:
        if grace > 0:
            child.terminate()
            try:
                child.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        child.kill()
        child.wait()


class Heartbeat(threading.Thread):
    """Writes heartbeat_at every LAYERLOOM_HEARTBEAT_INTERVAL seconds while the child runs."""

    def __init__(self, job_id: int, token: str) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id, self.token = job_id, token
        self._stop_event = threading.Event()
        self.last: datetime | None = None

    def run(self) -> None:
        try:
            while not self._stop_event.wait(settings.LAYERLOOM_HEARTBEAT_INTERVAL):
                try:
                    self.last = timezone.now()
                    update_run(self.job_id, self.token, heartbeat_at=self.last)
                except Exception:  # noqa: BLE001 - a database hiccup must not kill the job
                    log.warning("job %s: heartbeat not written", self.job_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
