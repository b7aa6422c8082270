"""Entry point of the process that runs one job.

`python -m workers.training.child JOB_ID TOKEN` runs that job at once.
`python -m workers.training.child --standby FRAMEWORK` is a standby: it imports Django and the
framework's runner (TensorFlow or torch) ahead of time, then reads `JOB_ID TOKEN` on stdin and
runs that job; end of input (the supervisor went away) makes it exit without doing anything.
Started by the supervisor in the Celery task; this is the only process that imports
TensorFlow or torch, and it never forks.
"""

from __future__ import annotations

import os
import sys

from builder.codegen.frameworks import NAMES
from workers.training.backends import backend_class


def preload(framework: str) -> None:
    """Import what a job of this framework needs before its first batch (not the job's data)."""
    if framework in NAMES:  # any other name (none) preloads nothing: the child just waits
        backend_class(framework).preload()
        from workers.training.baselines import preload as preload_baselines  # scikit-learn, for the evaluation

        preload_baselines()


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    import django

    django.setup()
    from workers.training.runner import run

    if argv[1] != "--standby":
        return run(int(argv[1]), argv[2])
    preload(argv[2])
    words = sys.stdin.readline().split()
    if len(words) != 2:
        return 0  # no job came: the worker stopped or replaced this standby
    return run(int(words[0]), words[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
