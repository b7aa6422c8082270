"""`migrate` alone makes the database cache's table: no request fails for want of it."""

from __future__ import annotations

from tests.foundation.test_settings import run_manage


def test_migrate_creates_the_cache_table(tmp_path):
    env = {"LAYERLOOM_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
           "CELERY_BROKER_URL": "filesystem://", "DJANGO_SETTINGS_MODULE": "webapp.settings.base"}  # fmt: skip
    assert run_manage("migrate", "--noinput", env=env).returncode == 0
    check = run_manage("shell", "-c", "from django.core.cache import cache; cache.set('k', 7); print(cache.get('k'))",
                       env=env)  # fmt: skip
    assert check.stdout.strip().splitlines()[-1] == "7", check.stderr[-2000:]
