"""/healthz does a real round trip and names the part that is down."""

from __future__ import annotations

import pytest

from webapp.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_is_200_when_all_is_up(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["parts"] == {"database": "ok", "broker": "ok", "worker": "ok"}


def test_healthz_is_503_naming_the_broker_when_it_is_unreachable(client, monkeypatch):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    # Celery reads CELERY_BROKER_URL from the environment before its own settings. The
    # attribute is patched first so that undoing restores it after the environment.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["broker"]
    assert body["parts"]["database"] == "ok"
    assert body["parts"]["broker"].startswith("down:")


def test_healthz_is_503_naming_the_worker_when_none_answers(client, settings):
    # The session's worker may be running; send the ping to a queue that no worker consumes.
    settings.LAYERLOOM_HEALTH_TIMEOUT = 1
    settings.LAYERLOOM_HEALTH_QUEUE = "health-nobody-listens"
    response = client.get("/healthz")
    body = response.json()
    if response.status_code == 200:
        pytest.fail(f"a worker answered although none was started: {body}")
    assert body["down"] == ["worker"]
    assert "no worker answered" in body["parts"]["worker"]
