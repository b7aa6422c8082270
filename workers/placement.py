"""Where a job runs: the training queue its device asks for, and the trainers that read them.

A job's `device` picks its queue: `cpu` goes to `<base>-cpu`, `cuda` to `<base>-gpu`, and `auto`
to `<base>` itself, which every trainer reads beside its own kind's queue, so whichever trainer
is free first takes it (`<base>` is LAYERLOOM_TRAINING_QUEUE, "training"). A GPU host runs one
trainer per GPU reading `training,training-gpu` (CUDA_VISIBLE_DEVICES pinned); a CPU host
`training,training-cpu`.

Nothing here keeps a registry of its own: every worker answers Celery's remote-control command
`layerloom_trainer` (registered below, in the worker: `celery inspect layerloom_trainer`) with
the queues it reads and what it has; a worker that does not answer is not alive. Neither side
imports TensorFlow or torch.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from importlib import metadata
from typing import Any

from celery.worker.control import inspect_command
from django.conf import settings

from client import __version__

SUFFIX = {"auto": "", "cpu": "-cpu", "cuda": "-gpu"}
FRAMEWORK_PACKAGES = ("tensorflow", "keras", "torch", "onnxruntime")


def queue_for(device: str, base: str | None = None) -> str:
    """The training queue for a job (or estimate) that asks for this device."""
    return f"{base or settings.LAYERLOOM_TRAINING_QUEUE}{SUFFIX.get(device, '')}"


def training_queues(base: str | None = None) -> str:
    """Every training queue, comma-separated for `celery worker -Q`: what a trainer that takes any
    job reads (the Procfile's, on one machine)."""
    return ",".join(queue_for(device, base) for device in SUFFIX)


def gpus() -> list[dict[str, Any]]:
    """The GPUs this process may use (CUDA_VISIBLE_DEVICES respected), from nvidia-smi; [] without one."""
    if shutil.which("nvidia-smi") is None or os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return []
    command = ["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"]
    if visible := os.environ.get("CUDA_VISIBLE_DEVICES"):
        command += ["-i", visible]
    try:
        lines = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in lines:
        index, name, mib = (part.strip() for part in line.split(","))
        found.append({"index": int(index), "name": name, "memory_bytes": int(float(mib)) * 2**20})
    return found


def installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def this_host() -> dict[str, Any]:
    """What this worker has: its device, cores, memory, framework versions and Layerloom's version.

    Read once per worker: none of it changes while the worker runs.
    """
    found = gpus()
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "device": f"GPU: {found[0]['name']}" if found else "CPU",
        "gpus": found,
        "cpu_cores": len(os.sched_getaffinity(0)),
        "memory_bytes": pages * page_size,
        "frameworks": {name: version for name in FRAMEWORK_PACKAGES if (version := installed(name))},
        "version": __version__,
    }


@inspect_command()
def layerloom_trainer(state: Any) -> dict[str, Any]:
    """`celery inspect layerloom_trainer`: the queues this worker reads and what it has."""
    return {"queues": sorted(queue.name for queue in state.consumer.task_consumer.queues), **this_host()}


def live_workers(timeout: float = 1.0) -> list[dict[str, Any]]:
    """Every worker that answered within `timeout`, by name: its queues and what it has."""
    from webapp.celery import app

    replies = app.control.broadcast("layerloom_trainer", reply=True, timeout=timeout) or []
    answers = {name: answer for reply in replies for name, answer in reply.items()}
    return [{"name": name, **answers[name]} for name in sorted(answers)]


def readers(queue: str, workers: list[dict[str, Any]]) -> list[str]:
    """The names of the workers that read this queue."""
    return [worker["name"] for worker in workers if queue in worker["queues"]]
