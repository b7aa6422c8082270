"""The Celery application, configured from Django settings (the CELERY_ namespace).

Importing this module never imports TensorFlow or torch: training code is loaded
lazily inside the process that runs one job.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.base")

app = Celery("layerloom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("training"))
app.autodiscover_tasks()
