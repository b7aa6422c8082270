"""Beat keeps its schedule under LAYERLOOM_VAR_DIR, wherever that is (issue 12, item 8)."""

from __future__ import annotations

import shlex
import signal
import subprocess
import time

from tests.foundation.test_settings import ROOT, run_manage
from tests.support.workers import worker_env


def procfile_command(name: str) -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return shlex.split(line.split(":", 1)[1])
    raise AssertionError(f"no {name}: line in the Procfile")


def test_beat_from_the_procfile_writes_its_schedule_under_a_var_dir_outside_the_checkout(tmp_path):
    var = tmp_path / "elsewhere" / "var"  # does not exist yet, as on a fresh machine
    env = worker_env({"LAYERLOOM_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "webapp.settings.base"})
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)  # the embedded broker, under the var dir too
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        beat = subprocess.Popen(procfile_command("beat"), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not list(var.glob("celerybeat-schedule*")):
            assert beat.poll() is None, f"beat exited {beat.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no schedule file in {var}:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        time.sleep(1)
        assert beat.poll() is None, f"beat exited {beat.returncode}:\n{log.read_text()[-3000:]}"
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=30)


def test_a_var_dir_that_cannot_be_created_is_one_clear_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_manage("preflight", env={"LAYERLOOM_VAR_DIR": str(blocker / "var")})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"LAYERLOOM_VAR_DIR={blocker / 'var'}: cannot create the folder (Not a directory). "
        "Point LAYERLOOM_VAR_DIR at a folder this user can write, or unset it to use var/ in the checkout."
    )
