"""How many math threads a job's process uses, and the environment that keeps them from spinning.

Why: torch and TensorFlow size their thread pools to every core of the machine, and torch's
OpenMP threads spin while they wait for work. On a machine shared with the web process, the
default worker or another job, those threads fight each other and everything else for the
cores: with one other busy process on a 2-core machine a torch epoch took 12 times its quiet
time. So a job's process gets

- LAYERLOOM_TRAINER_THREADS math threads when it is above 0; else the cores this process may
  run on (its CPU affinity, which a container's cpuset or `taskset` narrows) minus one, left for
  the web process and the default worker that share the machine in the standard layout
  (Procfile); never fewer than 1. A machine that runs only trainers sets the setting to its
  core count.
- Each framework's own variable, when the worker's environment sets it (non-empty), wins for
  that framework: OMP_NUM_THREADS (torch's intra-op and inter-op pools, MKL's default),
  TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS (TensorFlow), MKL_NUM_THREADS,
  OPENBLAS_NUM_THREADS (numpy), OMP_WAIT_POLICY and KMP_BLOCKTIME.
- OpenMP threads that sleep instead of spinning when they run out of work
  (OMP_WAIT_POLICY=PASSIVE for GNU OpenMP, KMP_BLOCKTIME=0 for Intel's): read when the
  framework loads, so the supervisor puts them in the child's environment before it starts.

Pure Python (no framework import): the supervisor uses it to build the child's environment,
the backends to size the pools they set up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

RESERVED_CORES = 1  # for the web process and the default worker on the same machine

# The variables a job's process gets when the worker's environment leaves them unset: the
# thread counts take the trainer's count, the rest the value given.
THREAD_COUNTS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                 "TF_NUM_INTEROP_THREADS")  # fmt: skip
WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}


def available_cores() -> int:
    """The cores this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no affinity call
        return os.cpu_count() or 1


def trainer_threads(configured: int) -> int:
    """The trainer's math threads for the setting's value (0: from the affinity, see the module docstring)."""
    if configured < 0:
        raise ValueError(f"LAYERLOOM_TRAINER_THREADS={configured} is negative; set a thread count, or 0 for automatic.")
    return configured or max(1, available_cores() - RESERVED_CORES)


def configured_threads() -> int:
    """The trainer's math threads from the Django settings (in a worker or a job's process)."""
    from django.conf import settings  # this module is also read where Django is not set up

    return trainer_threads(settings.LAYERLOOM_TRAINER_THREADS)


def child_environment(base: Mapping[str, str], threads: int) -> dict[str, str]:
    """`base` with every thread variable it leaves unset or empty filled in for `threads` threads."""
    env = dict(base)
    defaults = dict.fromkeys(THREAD_COUNTS, str(threads)) | WAIT_POLICY
    for name, value in defaults.items():
        if not env.get(name):
            env[name] = value
    return env


def pool_size(variable: str, threads: int) -> int:
    """The threads a pool gets: `variable` from this process's environment when it is set, else `threads`."""
    value = os.environ.get(variable, "")
    if not value:
        return threads
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise ValueError(f"{variable}={value!r} is not a thread count; set a whole number of at least 1, or unset it.")
    return size
