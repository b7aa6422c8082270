"""Production settings: secrets required, check --deploy clean; bad service URLs give one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' (tests/e2e/conftest.py), never a deployment's.
    unset = {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


PROD = {
    "DJANGO_SETTINGS_MODULE": "webapp.settings.production",
    "SECRET_KEY": "k" * 20 + "-Zq9!x7@Lw3#Vb2$Nr5%Ty8^Pm1&Hc4*Jd6(" + "u" * 20,
    "ALLOWED_HOSTS": "layerloom.example.com",
}


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PROD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_secret_key_fails_with_a_clear_message():
    env = {k: v for k, v in PROD.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_without_allowed_hosts_fails_with_a_clear_message():
    env = {k: v for k, v in PROD.items() if k != "ALLOWED_HOSTS"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_has_debug_off():
    result = run_manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=PROD)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_wrong_database_url_gives_one_clear_line(tmp_path):
    env = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing", "LAYERLOOM_VAR_DIR": str(tmp_path)}
    result = run_manage("preflight", env=env)
    assert result.returncode == 1
    err = result.stderr.strip()
    assert "Traceback" not in err
    assert err.startswith("CommandError: DATABASE_URL=postgres://nobody@127.0.0.1:1/nothing: cannot connect")


def test_unreachable_broker_gives_one_clear_line(tmp_path):
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "LAYERLOOM_VAR_DIR": str(tmp_path)}
    result = run_manage("preflight", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "CELERY_BROKER_URL=redis://127.0.0.1:1/0: cannot connect" in result.stderr


def test_spec_limits_come_from_settings(settings) -> None:
    from builder.limits import spec_limits
    from builder.spec import Limits

    settings.LAYERLOOM_MAX_LAYERS, settings.LAYERLOOM_MAX_PARAMS = 7, 1000
    settings.LAYERLOOM_MAX_INPUT_VALUES, settings.LAYERLOOM_MAX_LAYER_VALUES = 500, 600
    assert spec_limits() == Limits(max_layers=7, max_params=1000, max_input_values=500, max_layer_values=600)
