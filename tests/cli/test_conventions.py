"""The client's conventions, against a live server: every page, exit statuses, one-line errors,
Retry-After, --version, table and JSON output, progress bars only on a terminal."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

import client
from builder.spec import presets
from tests.api.conftest import make_job
from tests.api.test_docs_flow import iris_like_csv
from tests.cli.test_client import ROOT, layerloom

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dataset(alice: Any) -> Any:
    from builder.models import Dataset

    return Dataset.objects.create(
        owner=alice, name="cli-table", kind="tabular", status="ready", sha256="0" * 64, size_bytes=2048,
        task="classification", input_shape=[16], num_classes=3, class_names=["a", "b", "c"],
    )  # fmt: skip


@pytest.fixture
def cli(live_server: Any, alice: Any, tmp_path: Path) -> Any:
    """layerloom with alice's token and the live server's URL."""
    token = Token.objects.get_or_create(user=alice)[0].key

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return layerloom(tmp_path, "--url", live_server.url, "--token", token, *args, check=check)

    run.token = token  # type: ignore[attr-defined]
    run.url = live_server.url  # type: ignore[attr-defined]
    return run


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "LAYERLOOM_CONFIG": str(tmp_path / "config.json"), "PYTHONPATH": str(ROOT)}
    env.pop("LAYERLOOM_TOKEN", None)
    env.pop("LAYERLOOM_OUTPUT", None)
    return env


def on_terminal(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run layerloom with stdout and stderr on a pseudo-terminal, as a person at a shell would."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 120 columns, as a window has
    process = subprocess.Popen([sys.executable, "-m", "client", *args], cwd=tmp_path, env=env_for(tmp_path),
                               stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)  # fmt: skip
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    return process.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def single_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# --- lists: every page -------------------------------------------------------------------


def test_jobs_lists_every_page_and_says_what_a_limit_left_out(cli: Any, alice: Any, dataset: Any) -> None:
    jobs = [make_job(alice, dataset, status="succeeded") for _ in range(120)]
    everything = cli("jobs", "--page-size", "50", "--verbose")
    listed = json.loads(everything.stdout)  # stdout is a pipe here: JSON by default
    assert sorted(j["id"] for j in listed) == sorted(j.pk for j in jobs)
    pages = re.findall(r"^GET \S+/api/jobs/\S* -> 200$", everything.stderr, re.M)
    assert len(pages) == 3, everything.stderr  # 50 + 50 + 20, each page's `next` followed
    assert "more" not in everything.stderr

    # The default asks for the API's largest page: one request for all 120.
    default = cli("jobs", "--verbose")
    assert len(json.loads(default.stdout)) == 120 and default.stderr.count("GET ") == 1

    limited = cli("jobs", "--limit", "70", "--page-size", "50")
    assert len(json.loads(limited.stdout)) == 70
    assert "Showing 70 of 120 jobs; 50 more" in limited.stderr and "--limit" in limited.stderr

    make_job(alice, dataset, status="failed", error="loss became NaN")
    failed = json.loads(cli("jobs", "--filter", "status=failed").stdout)
    assert [j["status"] for j in failed] == ["failed"]


# --- exit statuses and one-line errors ---------------------------------------------------


def test_usage_errors_exit_2(cli: Any, tmp_path: Path) -> None:
    assert cli("jobs", "--limit", "x", check=False).returncode == 2  # argparse's own
    missing = cli("architecture", "create", "nowhere.json", check=False)
    assert missing.returncode == 2 and "nowhere.json" in single_line_error(missing)
    assert cli("upload", "nowhere.csv", "--kind", "tabular", check=False).returncode == 2
    bad_pair = cli("train", "--architecture", "1", "--dataset", "1", "--hp", "epochs", check=False)
    assert bad_pair.returncode == 2 and "key=value" in single_line_error(bad_pair)
    assert cli("follow", "1", "--timeout", "-3", check=False).returncode == 2


def test_api_errors_exit_1_on_one_line(cli: Any) -> None:
    missing = cli("jobs", "999999", check=False)
    assert missing.returncode == 1 and "HTTP 404" in single_line_error(missing)
    bad_filter = cli("jobs", "--filter", "status=dreaming", check=False)
    assert bad_filter.returncode == 1 and "status: Choose one of" in single_line_error(bad_filter)


def test_unreachable_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = layerloom(tmp_path, "--url", f"http://127.0.0.1:{port}", "--token", "t", "jobs", check=False)
    assert result.returncode == 1
    line = single_line_error(result)
    assert f"cannot reach http://127.0.0.1:{port}: Connection refused" in line and "--url" in line


def test_a_failed_or_cancelled_job_exits_3(cli: Any, alice: Any, dataset: Any) -> None:
    failed = make_job(alice, dataset, status="failed", error="loss became NaN at epoch 3")
    result = cli("follow", str(failed.pk), check=False)
    assert result.returncode == 3
    assert json.loads(result.stdout)["status"] == "failed"  # the job is still printed
    assert single_line_error(result) == f"error: job {failed.pk} failed: loss became NaN at epoch 3"
    cancelled = make_job(alice, dataset, status="cancelled")
    assert cli("follow", str(cancelled.pk), check=False).returncode == 3


def test_follow_timeout_exits_4_and_the_job_goes_on(cli: Any, alice: Any, dataset: Any) -> None:
    queued = make_job(alice, dataset, status="queued")  # no worker reads it: it stays queued
    started = time.monotonic()
    result = cli("follow", str(queued.pk), "--timeout", "2", check=False)
    assert result.returncode == 4 and 2 <= time.monotonic() - started < 30
    assert f"job {queued.pk} is still queued after 2 s" in single_line_error(result)
    queued.refresh_from_db()
    assert queued.status == "queued" and not queued.cancel_requested


def test_upload_wait_timeout_exits_4(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ingestion goes to a queue no worker reads, so the dataset stays pending.
    monkeypatch.setattr("builder.datasets.upload.INGEST_QUEUE", "cli-tests-unconsumed")
    iris_like_csv(tmp_path / "iris.csv", rows=30)
    result = cli("upload", "iris.csv", "--kind", "tabular", "--option", "target_column=species", "--wait",
                 "--timeout", "1.5", check=False)  # fmt: skip
    assert result.returncode == 4
    assert re.fullmatch(r"error: dataset \d+ is still pending after 1.5 s; check later with `layerloom datasets \d+`.",
                        single_line_error(result)), result.stderr  # fmt: skip
    assert "100%" not in result.stderr  # no progress bar on a pipe


def test_ctrl_c_stops_following_not_the_job(cli: Any, alice: Any, dataset: Any, tmp_path: Path) -> None:
    queued = make_job(alice, dataset, status="queued")
    process = subprocess.Popen([sys.executable, "-m", "client", "--url", cli.url, "--token", cli.token, "follow",
                                str(queued.pk), "--verbose"], cwd=tmp_path, env=env_for(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stderr is not None
    seen = process.stderr.readline()  # the first poll has been answered: it is following
    assert "/metrics/" in seen, seen
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130 and out == ""
    assert f"Stopped following job {queued.pk}; the job goes on." in err and "Traceback" not in err
    assert f"layerloom cancel {queued.pk}" in err
    queued.refresh_from_db()
    assert queued.status == "queued" and not queued.cancel_requested


class CuttableProxy:
    """A TCP forwarder to the live server that can be cut and restored on the same port: a restart, seen
    from the client."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self.listener.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client_side, _ = listener.accept()
            except OSError:
                return
            server_side = socket.create_connection(self.target)
            self.connections += [client_side, server_side]
            for a, b in ((client_side, server_side), (server_side, client_side)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_follow_waits_out_a_server_restart(cli: Any, alice: Any, dataset: Any, tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    from workers.models import Metric

    job = make_job(alice, dataset, status="running")
    address = urlsplit(cli.url)
    proxy = CuttableProxy((address.hostname, address.port))
    proxy.start()
    process = subprocess.Popen([sys.executable, "-m", "client", "--url", f"http://127.0.0.1:{proxy.port}", "--token",
                                cli.token, "follow", str(job.pk), "--verbose"], cwd=tmp_path, env=env_for(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stderr is not None
    assert "/metrics/" in process.stderr.readline()  # following
    proxy.cut()
    line = process.stderr.readline()
    if "/metrics/" in line:  # a poll that went out just before the cut
        line = process.stderr.readline()
    assert line.startswith(f"Lost contact with http://127.0.0.1:{proxy.port} (Connection refused)"), line
    time.sleep(2)  # polls meet a closed port meanwhile
    proxy.start()
    Metric.objects.create(job=job, epoch=1, step=10, values={"loss": 0.5})
    job.status, job.epoch = "succeeded", 1
    job.save(update_fields=["status", "epoch"])
    out, err = process.communicate(timeout=60)
    proxy.cut()
    assert process.returncode == 0, err
    assert "Back in contact with" in err and "epoch 1: loss=0.5" in err and "Traceback" not in err
    assert json.loads(out)["status"] == "succeeded"


# --- Retry-After ---------------------------------------------------------------------------


def test_retry_after_is_honoured_then_bounded(cli: Any, alice: Any, dataset: Any, settings: Any) -> None:
    for _ in range(3):
        make_job(alice, dataset, status="succeeded")
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "user": "1/second"}
    started = time.monotonic()
    result = cli("jobs", "--page-size", "1", "--verbose")  # three pages, one request a second allowed
    elapsed = time.monotonic() - started
    assert len(json.loads(result.stdout)) == 3
    waits = [float(s) for s in re.findall(r"retrying in ([\d.]+) s", result.stderr)]
    assert waits and result.stderr.count("-> 429") == len(waits), result.stderr
    assert elapsed >= sum(waits)  # each wait was the server's Retry-After

    # A wait longer than the client's bound is not slept through: the error says when to come back.
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "user": "1/hour"}
    cli("jobs")
    started = time.monotonic()
    refused = cli("jobs", check=False)
    assert refused.returncode == 1 and time.monotonic() - started < 30
    assert "HTTP 429" in single_line_error(refused)


# --- version and output --------------------------------------------------------------------


def test_version_comes_from_one_place(tmp_path: Path) -> None:
    result = layerloom(tmp_path, "--version")
    assert result.stdout == f"layerloom {client.__version__}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "client.__version__"}


def test_table_and_json_output(cli: Any, alice: Any, dataset: Any, tmp_path: Path) -> None:
    job = make_job(alice, dataset, status="failed", error="loss became NaN")
    table = cli("--output", "table", "jobs").stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "FRAMEWORK", "DATASET", "ARCHITECTURE", "EPOCH", "CREATED", "ERROR"]
    assert table[1].split()[:4] == [str(job.pk), "failed", "keras", str(dataset.pk)]
    assert table[1].endswith("loss became NaN")
    one = cli("jobs", str(job.pk), "--output", "table").stdout  # --output after the command too
    assert re.search(r"^status\s+failed$", one, re.M) and re.search(rf"^id\s+{job.pk}$", one, re.M)
    datasets = cli("datasets", "--output", "table").stdout
    assert re.search(r"^\d+\s+cli-table\s+tabular\s+ready\s+classification\s+2\.0 KiB", datasets, re.M)
    assert json.loads(cli("--output", "json", "jobs").stdout)[0]["id"] == job.pk

    spec = presets()["mlp"]
    (tmp_path / "mlp.json").write_text(json.dumps(spec))
    report = cli("architecture", "validate", "mlp.json", "--output", "table").stdout.splitlines()
    assert report[0].split()[:2] == ["LAYER", "TYPE"]
    assert [line.split()[0] for line in report[1:-1]] == [layer["id"] for layer in spec["layers"]]
    assert re.match(r"Total params: [\d,]+  output shape: 3  batch size 32  ok$", report[-1]), report[-1]

    # On a terminal the default is the table; LAYERLOOM_OUTPUT only accepts the two formats.
    code, text = on_terminal(tmp_path, "--url", cli.url, "--token", cli.token, "jobs")
    assert code == 0 and text.splitlines()[0].startswith("ID") and "{" not in text
    os.environ["LAYERLOOM_OUTPUT"] = "yaml"
    try:
        wrong = cli("jobs", check=False)
    finally:
        del os.environ["LAYERLOOM_OUTPUT"]
    assert wrong.returncode == 2 and "LAYERLOOM_OUTPUT" in single_line_error(wrong)


def test_progress_bars_on_a_terminal_only(
    cli: Any, alice: Any, dataset: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.models import Metric

    monkeypatch.setattr("builder.datasets.upload.INGEST_QUEUE", "cli-tests-unconsumed")
    iris_like_csv(tmp_path / "iris.csv", rows=30)
    connection = ("--url", cli.url, "--token", cli.token)
    code, text = on_terminal(tmp_path, *connection, "upload", "iris.csv", "--kind", "tabular", "--option",
                             "target_column=species")  # fmt: skip
    assert code == 0 and re.search(r"iris\.csv: 100%\|.*\|", text), text

    job = make_job(alice, dataset, status="succeeded", epoch=2, percent=100.0)
    for epoch in (1, 2):
        Metric.objects.create(job=job, epoch=epoch, step=epoch * 10, values={"loss": 1.0 / epoch})
    code, text = on_terminal(tmp_path, *connection, "follow", str(job.pk))
    assert code == 0 and "epoch 1: loss=1" in text and "epoch 2: loss=0.5" in text
    assert re.search(rf"job {job.pk} succeeded: 100%\|.*\| 2/2 epochs", text), text
    piped = cli("follow", str(job.pk))
    assert "epoch 2: loss=0.5" in piped.stderr and "|" not in piped.stderr  # the lines, without a bar


def test_the_client_imports_nothing_of_the_server(tmp_path: Path) -> None:
    check = ("import sys, client.cli; server = {'django', 'rest_framework', 'api', 'builder', 'workers', "
             "'webapp', 'serving'}; print(sorted(m for m in sys.modules if m.split('.')[0] in server))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
