"""A task sent by the web process runs in a real worker process, over the configured broker."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from webapp.tasks import ping

pytestmark = pytest.mark.django_db(transaction=True)


def test_ping_runs_in_a_separate_worker_process(celery_worker):
    answer = ping.apply_async(queue="default").get(timeout=30)
    assert answer["pong"] is True
    assert answer["pid"] != os.getpid()
    assert "Task webapp.ping[" in celery_worker.log()


def test_broker_is_the_one_the_environment_names():
    expected = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    assert settings.CELERY_BROKER_URL == expected


def test_celery_settings_match_the_design():
    from webapp.celery import app

    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert {q.name for q in conf.task_queues} == {"default", "training"}
    if not settings.CELERY_BROKER_IS_FILESYSTEM:
        assert conf.broker_transport_options["visibility_timeout"] > settings.LAYERLOOM_JOB_TIME_LIMIT
