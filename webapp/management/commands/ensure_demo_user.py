"""Make sure the demo account exists and print how to sign in with it (safe to run twice)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo account if it is missing and print its username and password."

    def handle(self, *args: Any, **options: Any) -> None:
        username = settings.LAYERLOOM_DEMO_USERNAME
        password = settings.LAYERLOOM_DEMO_PASSWORD
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        verb = "created" if created else "ready"
        self.stdout.write(f"Demo account {verb}: username {username!r}, password {password!r}")
