"""The demo account (public password) exists for `make run` only, never comes back in production."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.foundation.test_settings import PROD, run_manage

pytestmark = pytest.mark.django_db


def test_locally_the_command_creates_the_account_and_puts_the_password_back(capsys: Any) -> None:
    call_command("ensure_demo_user")
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("changed-by-someone")
    demo.save()
    call_command("ensure_demo_user")
    assert get_user_model().objects.get(username="demo").check_password("layerloom-demo")
    assert "username 'demo', password 'layerloom-demo'" in capsys.readouterr().out


def test_turned_off_the_command_creates_nothing(settings: Any, capsys: Any) -> None:
    settings.LAYERLOOM_DEMO_ACCOUNT = False
    call_command("ensure_demo_user")
    assert not get_user_model().objects.filter(username="demo").exists()
    assert "Demo account off" in capsys.readouterr().out


def test_with_production_rules_a_changed_password_stays_changed(settings: Any, capsys: Any) -> None:
    settings.LAYERLOOM_DEMO_RESETS_PASSWORD = False
    call_command("ensure_demo_user")
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("operator-chose-this-1")
    demo.save()
    call_command("ensure_demo_user")
    demo.refresh_from_db()
    assert demo.check_password("operator-chose-this-1")
    assert not demo.check_password("layerloom-demo")
    assert "kept its changed password" in capsys.readouterr().out


def test_production_settings_turn_the_demo_account_off_and_never_reset_it(tmp_path: Any) -> None:
    env = {**PROD, "LAYERLOOM_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    env.pop("LAYERLOOM_DEMO_ACCOUNT", None)
    assert run_manage("migrate", "--noinput", env=env).returncode == 0
    result = run_manage("ensure_demo_user", env=env)
    assert result.returncode == 0, result.stderr
    assert "Demo account off" in result.stdout
    count = run_manage("shell", "-c", "from django.contrib.auth.models import User;"
                       "print(User.objects.filter(username='demo').count())", env=env)  # fmt: skip
    assert count.stdout.strip().splitlines()[-1] == "0", count.stderr
    # Turned on by an operator: created once, and a changed password is never put back.
    on = {**env, "LAYERLOOM_DEMO_ACCOUNT": "true"}
    assert "Demo account created" in run_manage("ensure_demo_user", env=on).stdout
    run_manage("shell", "-c", "from django.contrib.auth.models import User; u = User.objects.get(username='demo');"
               "u.set_password('operator-9-x'); u.save()", env=on)  # fmt: skip
    assert "kept its changed password" in run_manage("ensure_demo_user", env=on).stdout
