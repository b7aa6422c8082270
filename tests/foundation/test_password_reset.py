"""Password reset by e-mail only where e-mail can be sent, and then rate-limited per address."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


def test_without_email_the_page_says_to_ask_an_administrator(client: Client, alice: Any) -> None:
    alice.email = "alice@example.com"
    alice.save()
    page = client.get("/accounts/password_reset/")
    assert page.status_code == 200
    assert "Ask your Layerloom administrator" in page.content.decode().replace("\n", " ")
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert "Password reset is not available here" in response.content.decode()
    assert mail.outbox == []  # and no false "we've e-mailed you"
    assert "/accounts/password_reset/done/" not in response.get("Location", "")


@pytest.fixture
def email_on(settings: Any) -> Any:
    settings.LAYERLOOM_EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LAYERLOOM_PASSWORD_RESET_PER_HOUR = 2
    return settings


def test_with_email_the_reset_mail_is_sent(client: Client, alice: Any, email_on: Any) -> None:
    alice.email = "alice@example.com"
    alice.save()
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "alice@example.com" in mail.outbox[0].to


def test_with_email_resets_are_limited_per_address(client: Client, alice: Any, email_on: Any) -> None:
    alice.email = "alice@example.com"
    alice.save()
    codes = [client.post("/accounts/password_reset/", {"email": "alice@example.com"}).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert len(mail.outbox) == 2
    assert Client(REMOTE_ADDR="192.0.2.9").post("/accounts/password_reset/", {"email": "x@example.com"}).status_code == 302
