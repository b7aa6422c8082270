"""Check the database and the broker before starting, with one clear line per problem.

A wrong DATABASE_URL or an unreachable broker otherwise shows up as a wall of
traceback from the first process that touches it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from webapp.health import check_broker


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class Command(BaseCommand):
    help = "Check that the database and the Celery broker can be reached."

    def handle(self, *args: Any, **options: Any) -> None:
        problems: list[str] = []
        try:
            connection.ensure_connection()
        except Exception as exc:  # noqa: BLE001 - report any failure as one line
            problems.append(
                f"DATABASE_URL={_redact(settings.DATABASE_URL)}: cannot connect ({_first_line(exc)}). "
                "Fix the URL or start the database; unset DATABASE_URL to use SQLite."
            )
        try:
            check_broker()
        except Exception as exc:  # noqa: BLE001
            problems.append(
                f"CELERY_BROKER_URL={_redact(settings.CELERY_BROKER_URL)}: cannot connect ({_first_line(exc)}). "
                "Fix the URL or start the broker; unset CELERY_BROKER_URL to use the embedded broker."
            )
        if problems:
            raise CommandError("\n".join(problems))
        self.stdout.write("Database and broker reachable.")
