"""The many-machines tests run on PostgreSQL and Redis (CI's first pass), not on the embedded defaults.

Their hosts share nothing but network services. The embedded defaults are a SQLite file and a
broker folder on one disk: every "host" would have to share them, which is the one thing a
deployment on several machines cannot do, so on them these tests are deselected (and the run's
summary says so), not run as something they are not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
REASON = (
    "the many-machines tests need PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL); CI's first pass runs them"
)


def embedded() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") or settings.CELERY_BROKER_IS_FILESYSTEM


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not embedded():
        return
    mine = [item for item in items if item.path.is_relative_to(HERE)]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]
        config.stash[DESELECTED] = len(mine)


DESELECTED = pytest.StashKey[int]()


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    count = config.stash.get(DESELECTED, 0)
    return [f"tests/hosts: {count} test(s) deselected: {REASON}"] if count else []
