"""How a job's process ended, in words, and whether the run may be resumed after it.

The kernel's out-of-memory killer is named only when the memory cgroup counted a kill while
the job ran (`oom_kill` in memory.events or memory.oom_control); any other SIGKILL is
reported as what it was, a signal from outside, and the job resumes from its checkpoint
while attempts remain.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _cgroup_paths() -> list[Path]:
    """This process's memory-cgroup counters: cgroup v2's memory.events, v1's memory.oom_control."""
    found = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "":
            found += [CGROUP / relative / "memory.events", CGROUP / "memory.events"]
        elif "memory" in controllers.split(","):
            found += [CGROUP / "memory" / relative / "memory.oom_control", CGROUP / "memory" / "memory.oom_control"]
    return found


def oom_kills() -> int | None:
    """How many processes the OOM killer has killed in this cgroup so far; None when not readable."""
    for path in _cgroup_paths():
        try:
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


@dataclass(frozen=True)
class Exit:
    message: str
    resumable: bool  # stopped from outside: the job may resume from its checkpoint


def describe_exit(rc: int, oom_before: int | None = None, oom_after: int | None = None) -> Exit:
    """What the child's exit status rc (negative: the signal) means for the person and the job."""
    if rc == 0:
        return Exit("The training process ended without recording a result; see the worker's log.", False)
    if rc == -signal.SIGABRT:
        return Exit(
            "The training process crashed inside the framework (SIGABRT), often a failed memory or thread "
            "allocation. Try a smaller batch size or a smaller model; the worker's log has the details.",
            False,
        )
    if rc == -signal.SIGSEGV:
        return Exit("The training process crashed (SIGSEGV) inside the framework; the worker's log has details.", False)
    if rc < 0:
        name = signal.Signals(-rc).name
        if rc == -signal.SIGKILL and oom_before is not None and oom_after is not None and oom_after > oom_before:
            return Exit(
                "The training process was killed by the kernel's out-of-memory killer (signal 9, SIGKILL). "
                "Try a smaller batch size or a smaller model.",
                True,
            )
        return Exit(f"The training process was killed by signal {-rc} ({name}).", True)
    return Exit(f"The training process exited unexpectedly (exit code {rc}); see the worker's log.", False)
