"""The embedded broker's channel: a missing queue folder is an outage, not a crash."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

ROOT = Path(__file__).resolve().parents[2]


def connection(folder: Path) -> Connection:
    queue = folder / "queue"
    queue.mkdir(parents=True)
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(folder / "control"),
               "store_processed": False}  # fmt: skip
    return Connection("filesystem://", transport="webapp.broker:Transport", transport_options=options)


def test_a_missing_folder_reads_as_empty_and_messages_flow_again_when_it_returns(tmp_path, caplog):
    with connection(tmp_path) as conn:
        channel = conn.default_channel
        queue = tmp_path / "queue"
        away = shutil.move(queue, tmp_path / "away")
        with caplog.at_level(logging.WARNING, logger="webapp.broker"):
            for _ in range(3):
                with pytest.raises(Empty):
                    channel._get("jobs")
        assert channel._size("jobs") == 0
        assert [r.getMessage() for r in caplog.records] == [
            f"broker folder {queue} is missing; waiting for it to come back"
        ]
        # Publishing cannot pretend to succeed: the message has nowhere to go.
        with pytest.raises(ChannelError):
            channel._put("jobs", {"body": "lost"})

        shutil.move(away, queue)
        channel._put("jobs", {"body": "after"})
        assert channel._size("jobs") == 1
        with caplog.at_level(logging.WARNING, logger="webapp.broker"):
            assert channel._get("jobs") == {"body": "after"}
        assert "is back after" in caplog.records[-1].getMessage()
        with pytest.raises(Empty):
            channel._get("jobs")


def test_the_embedded_default_uses_this_transport(tmp_path):
    """On a bare machine (no CELERY_BROKER_URL) the worker and the web process read through it."""
    code = "from webapp.celery import app; print(type(app.connection_for_write().transport).__module__)"
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}}
    env.update(DJANGO_SETTINGS_MODULE="webapp.settings.base", LAYERLOOM_VAR_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1:] == ["webapp.broker"], result.stderr


def test_a_message_is_read_whole_or_not_at_all_while_it_is_written(tmp_path):
    """kombu's own _put created the file before writing it: a worker polling in between read an
    empty message and exited. Here a message is written under a name readers skip, then renamed."""
    with connection(tmp_path) as conn:
        channel = conn.default_channel
        queue = tmp_path / "queue"
        (queue / "1_partial.jobs.msg.part").write_bytes(b"")  # what a writer leaves mid-write
        with pytest.raises(Empty):
            channel._get("jobs")
        assert channel._size("jobs") == 0

        received: list[int] = []
        errors: list[BaseException] = []

        def read() -> None:
            with connection_to(tmp_path) as reader:
                deadline = time.monotonic() + 60
                while len(received) < 2000 and time.monotonic() < deadline:
                    try:
                        received.append(reader.default_channel._get("jobs")["n"])
                    except Empty:
                        continue
                    except BaseException as exc:  # noqa: BLE001 - the reader must report, not die silently
                        errors.append(exc)
                        return

        thread = threading.Thread(target=read)
        thread.start()
        for n in range(2000):
            channel._put("jobs", {"n": n})
        thread.join(90)
        assert errors == [] and sorted(received) == list(range(2000))


def connection_to(folder: Path) -> Connection:
    """A second connection to the folders `connection` made (a worker beside the publisher)."""
    options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
               "control_folder": str(folder / "control"), "store_processed": False}  # fmt: skip
    return Connection("filesystem://", transport="webapp.broker:Transport", transport_options=options)
