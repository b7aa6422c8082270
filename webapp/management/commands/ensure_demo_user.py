"""Make sure the demo account exists for local use and print how to sign in (safe to run twice).

Its password is public, so the production settings turn it off (LAYERLOOM_DEMO_ACCOUNT);
an operator who turns it on there gets the account created once, and a password changed
afterwards stays changed (LAYERLOOM_DEMO_RESETS_PASSWORD is off in production).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo account if it is missing (when LAYERLOOM_DEMO_ACCOUNT is on) and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.LAYERLOOM_DEMO_ACCOUNT:
            self.stdout.write("Demo account off (LAYERLOOM_DEMO_ACCOUNT): nothing created or changed.")
            return
        username = settings.LAYERLOOM_DEMO_USERNAME
        password = settings.LAYERLOOM_DEMO_PASSWORD
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or (settings.LAYERLOOM_DEMO_RESETS_PASSWORD and not user.check_password(password)):
            user.set_password(password)
            user.save()
        elif not user.check_password(password):
            self.stdout.write(f"Demo account {username!r} kept its changed password.")
            return
        verb = "created" if created else "ready"
        self.stdout.write(f"Demo account {verb}: username {username!r}, password {password!r}")
