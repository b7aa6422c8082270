"""Entry point of the process that runs one job: `python -m workers.training.child JOB_ID TOKEN`.

Started by the supervisor in the Celery task; this is the only process that imports
TensorFlow or torch.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")
    import django

    django.setup()
    from workers.training.runner import run

    return run(int(argv[1]), argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
