"""Which process owns a run, and whether that very process is still alive.

A run's owner is the Celery pool process whose supervisor claimed the job. Its identity is
"<boot id>:<pid namespace>:<pid>:<start time>": the boot id and the pid namespace say which
machine (and container) the pid belongs to, and the start time (clock ticks since boot, from
/proc) tells the process apart from a later one that reuses its pid. A restarted worker has
the same Celery node name but new processes with new identities, so it never keeps a dead
run alive.

From the same machine and pid namespace the answer is certain (/proc). From anywhere else
it is unknown, and the run's lease (its heartbeat, renewed only by the owner) decides.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PROC = Path("/proc")


@cache
def _machine() -> str:
    """This boot of this machine, and this pid namespace (containers share a boot id)."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink(PROC / "self/ns/pid")
    except OSError:
        return ""  # not Linux: no certain answers, the lease decides
    return f"{boot}:{namespace}"


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat), or None when there is no such process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None  # a zombie has already ended; only its exit status is left
    return fields[19]


def identity(pid: int | None = None) -> str:
    """This process's identity (or another local process's), as stored in TrainingJob.run_owner."""
    pid = pid or os.getpid()
    machine, ticks = _machine(), _start_ticks(pid)
    return f"{machine}:{pid}:{ticks}" if machine and ticks else ""


def is_alive(owner: str) -> bool | None:
    """True or False when the owner is on this machine; None when that cannot be known here."""
    machine = _machine()
    if not owner or not machine or not owner.startswith(f"{machine}:"):
        return None
    pid, ticks = owner[len(machine) + 1 :].split(":")
    return _start_ticks(int(pid)) == ticks
