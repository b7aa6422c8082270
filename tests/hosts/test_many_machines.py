"""Many machines: a web host and two trainer hosts that share only PostgreSQL, Redis and a bucket.

The module starts an S3-compatible server (moto's server mode) on a loopback port and three
hosts (tests/support/hosts.py), each with its own working, var, data, cache, home and temporary
folders and its own environment:

- web: Django's server, with every package that requirements/web.txt does not bring
  (TensorFlow, torch, ...) unimportable, as on a web-only install;
- trainer-a: a Celery worker on `default` (ingestion) and the training queues;
- trainer-b: a Celery worker on the training queues.

The trainers run in PID and UTS namespaces of their own (`unshare`, as root): their own host
names (Celery nodes celery@trainer-a and celery@trainer-b), their own process ids, and to the
recovery check another machine, where only the heartbeat can say a run is dead. The hosts'
Celery messages and cache keys carry a prefix of their own (a run id of the deployment), so no
other worker of the test run sees them. Everything a person does goes through the web host's
HTTP API with a token; the test reads rows and the bucket only to check what happened.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from celery import Celery
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from builder.models import Dataset
from tests.datasets.factories import class_table
from tests.faults.helpers import DROPOUT_SPEC, assert_same_run, children_of
from tests.foundation.test_web_without_frameworks import HOOK, MUST_BE_BLOCKED, modules_outside_web_requirements
from tests.support.hosts import Host, Reaper, celery_host, namespaces_refused, wait_celery_ready
from tests.support.redis_server import free_port
from tests.support.s3_server import S3Server
from tests.support.workers import ROOT
from tests.workers.helpers import hp, wait_for
from workers import liveness
from workers.models import TrainingJob
from workers.placement import training_queues

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1200)]

HEARTBEAT_TIMEOUT = 10  # seconds without a heartbeat before a run on another machine is dead
FINISHED = {"succeeded", "failed", "cancelled"}


def table_csv(rows: int, seed: int = 0) -> bytes:
    """Six numeric columns and a three-class label that the columns predict."""
    names = [f"f{i}" for i in range(1, 7)]
    return class_table(rows, seed, names=names, target="label", spread=1.2, scale=0.6, digits=4)


@dataclass
class Deployment:
    s3: S3Server
    web: Host
    url: str
    trainers: dict[str, Host]
    prefix: str  # the hosts' Celery key prefix
    _control: Celery | None = None
    _reaper: Reaper | None = None
    apis: list[requests.Session] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(f"==== {h.name}\n{h.log()[-2500:]}" for h in (self.web, *self.trainers.values()))

    def trainer_of(self, node: str) -> Host:
        return self.trainers[node.split("@", 1)[1]]

    def api(self, user: Any) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
        self.apis.append(session)
        return session

    def get(self, api: requests.Session, path: str) -> Any:
        answer = api.get(f"{self.url}{path}", timeout=60)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
        return answer.json()

    # --- a person's steps, through the web host ------------------------------------------------
    def upload(self, api: requests.Session, rows: int, seed: int = 0) -> Dataset:
        answer = api.post(
            f"{self.url}/api/datasets/", timeout=120, files={"file": ("table.csv", table_csv(rows, seed))},
            data={"name": f"table-{rows}", "kind": "tabular", "options": json.dumps({"target_column": "label"})},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        pk = answer.json()["id"]
        done = wait_for(lambda: self.get(api, f"/api/datasets/{pk}/")["status"] in ("ready", "failed") or None, 300,
                        0.3, "the dataset to be ingested")  # fmt: skip
        assert done and self.get(api, f"/api/datasets/{pk}/")["status"] == "ready", self.logs()
        return Dataset.objects.get(pk=pk)

    def submit(self, api: requests.Session, dataset: Dataset, framework: str, **params: Any) -> int:
        body = {"spec": DROPOUT_SPEC, "dataset": dataset.pk, "framework": framework,
                "hyperparameters": hp(device="auto", **params)}  # fmt: skip
        answer = api.post(f"{self.url}/api/jobs/", json=body, timeout=60)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def finished(self, api: requests.Session, pk: int, timeout: float = 600) -> dict[str, Any]:
        def over() -> dict[str, Any] | None:
            job = self.get(api, f"/api/jobs/{pk}/")
            return job if job["status"] in FINISHED else None

        try:
            return wait_for(over, timeout, 0.5, f"job {pk} to finish")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def succeeded(self, api: requests.Session, pk: int) -> dict[str, Any]:
        job = self.finished(api, pk)
        assert job["status"] == "succeeded", f"{job['error']}\n{self.logs()}"
        return job

    # --- the operator's tools ---------------------------------------------------------------------
    def control(self) -> Celery:
        """A Celery client on the hosts' broker keys (`celery control` as an operator would run it)."""
        if self._control is None:
            app = Celery("layerloom-hosts", set_as_current=False)
            app.config_from_object("django.conf:settings", namespace="CELERY")
            app.conf.broker_transport_options = {**django_settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                                 "global_keyprefix": self.prefix}  # fmt: skip
            self._control = app
        return self._control

    def consume(self, host: str, on: bool) -> None:
        """Start or stop a trainer taking jobs (Celery's add_consumer / cancel_consumer)."""
        node = f"celery@{host}"
        control = self.control().control
        for queue in training_queues().split(","):
            replies = (control.add_consumer if on else control.cancel_consumer)(
                queue, destination=[node], reply=True, timeout=10
            )
            assert any(node in reply for reply in replies or []), (host, queue, replies)
        time.sleep(1.5)  # a poll the worker had already started for the queue ends first

    def reap(self) -> dict[str, list[int]]:
        """One run of the recovery check (beat's `workers.reap_stale_jobs`), on the web host."""
        if self._reaper is None:
            self._reaper = Reaper(self.web)
        return self._reaper.reap()

    def orphans(self, *options: str) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "storage_orphans", "--grace", "0", *options],
                              cwd=self.web.path("work"), env=self.web.environment(), capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def ensure_trainers(self) -> None:
        """Every trainer up and taking jobs (a test before may have stopped one)."""
        for host in self.trainers.values():
            if not host.alive():
                host.start()
        for host in self.trainers.values():
            wait_celery_ready(host)

    def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.stop()
        for host in (*self.trainers.values(), self.web):
            host.kill()
        self.s3.stop()


@pytest.fixture(scope="module")
def deployment(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    refused = namespaces_refused()
    assert not refused, f"the trainer hosts need their own PID and UTS namespaces (unshare, as root): {refused}"
    root = tmp_path_factory.mktemp("hosts")
    s3 = S3Server(root / "moto")
    s3.start()
    run_id = f"hosts{uuid.uuid4().hex[:6]}"
    common = {
        **s3.env(), "LAYERLOOM_TEST_RUN_ID": run_id, "LAYERLOOM_DISPATCH_PER_USER": "2",
        "LAYERLOOM_HEARTBEAT_INTERVAL": "1", "LAYERLOOM_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "LAYERLOOM_KEEP_CHECKPOINTS": "1", "LAYERLOOM_STANDBY_FRAMEWORKS": "none", "LAYERLOOM_TRAINER_THREADS": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
    }  # fmt: skip
    hook = root / "web" / "hook"
    hook.mkdir(parents=True)
    blocked = modules_outside_web_requirements()
    assert blocked >= MUST_BE_BLOCKED, MUST_BE_BLOCKED - blocked
    (hook / "sitecustomize.py").write_text(HOOK.format(blocked=sorted(blocked), log=str(root / "web" / "blocked.log")))
    port = free_port()
    web = Host("web", root / "web", [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}",
               "--noreload"], {**common, "PYTHONPATH": f"{hook}:{ROOT}"}, isolated=False)  # fmt: skip
    queues = training_queues()
    trainers = {
        "trainer-a": celery_host("trainer-a", root / "trainer-a", f"default,{queues}", common),
        "trainer-b": celery_host("trainer-b", root / "trainer-b", queues, common),
    }
    d = Deployment(s3, web, f"http://127.0.0.1:{port}", trainers, f"test-{run_id}:")
    try:
        for host in (web, *trainers.values()):
            host.start()

        def web_up() -> bool:
            assert web.alive(), web.log()
            try:
                return requests.get(f"{d.url}/accounts/login/", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(web_up, 120, 0.3, "the web host to answer")
        d.ensure_trainers()
        yield d
        # The web host (and its recovery check) never tried to import a framework, nor Layerloom code
        # anything outside the web requirements.
        lines = (root / "web" / "blocked.log").read_text().splitlines()
        tried = [line.split("\t") for line in lines if not line.startswith("#")]
        ours = [(name, where) for name, where in tried if Path(where).is_relative_to(ROOT) and ".venv" not in where]
        heavy = [(name, where) for name, where in tried if name.partition(".")[0] in MUST_BE_BLOCKED]
        assert lines[:1] == ["# active"] and ours == heavy == [], f"the web host tried to import: {ours + heavy}"
    finally:
        d.stop()


@pytest.fixture
def hosts(deployment: Deployment) -> Deployment:
    deployment.ensure_trainers()
    return deployment


def test_both_frameworks_train_on_both_trainers_and_serve_through_the_web_host(hosts: Deployment, alice: Any) -> None:
    d, s3 = hosts, hosts.s3
    api = d.api(alice)
    dataset = d.upload(api, rows=300)
    prefix = f"datasets/{dataset.storage_key}"
    assert f"{prefix}/v1/X_train.npy" in s3.keys(f"{prefix}/") and s3.read(dataset.source) == table_csv(300)
    assert not list(d.web.path("data").rglob("*.csv")), "the web host kept a copy of the upload"

    # Each framework on each trainer: trainer-b stops taking jobs while trainer-a takes the first
    # two, then trainer-a stops while trainer-b takes the next two (placement as an operator drains).
    jobs: dict[int, tuple[str, str]] = {}
    d.consume("trainer-b", on=False)
    try:
        for framework in ("keras", "torch"):
            jobs[d.submit(api, dataset, framework, epochs=2)] = (framework, "trainer-a")
        last = list(jobs)[-1]
        wait_for(lambda: d.get(api, f"/api/jobs/{last}/")["status"] != "queued", 600, 0.5, "trainer-a to take both")
        d.consume("trainer-b", on=True)
        d.consume("trainer-a", on=False)
        for framework in ("keras", "torch"):
            jobs[d.submit(api, dataset, framework, epochs=2)] = (framework, "trainer-b")
        for pk, (framework, host) in jobs.items():
            job = d.succeeded(api, pk)
            assert (job["framework"], job["worker_host"]) == (framework, f"celery@{host}"), job
    finally:
        d.consume("trainer-a", on=True)

    rows = [{"f1": 0.1, "f2": 0.0, "f3": 0.2, "f4": -0.1, "f5": 0.3, "f6": 0.0},
            {"f1": 2.4, "f2": 2.5, "f3": 2.3, "f4": 2.6, "f5": 2.2, "f6": 2.4}]  # fmt: skip
    for pk in jobs:
        listed = {a["kind"]: a for a in d.get(api, f"/api/jobs/{pk}/artifacts/")}
        for kind in ("onnx", "code_bundle"):
            item = listed[kind]
            # The web host answers with a presigned URL: the bytes come straight from the store.
            answer = api.get(item["download_url"], allow_redirects=False, timeout=60)
            assert answer.status_code == 302 and answer.headers["Location"].startswith(s3.url), answer.status_code
            body = requests.get(answer.headers["Location"], timeout=60).content
            assert hashlib.sha256(body).hexdigest() == item["sha256"] == answer.headers["X-Checksum-SHA256"]
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert {"code_bundle/predict.py", "code_bundle/train.py"} <= set(names), names
        predicted = api.post(f"{d.url}/api/jobs/{pk}/predict/", json={"rows": rows}, timeout=60)
        assert predicted.status_code == 200, predicted.text
        answers = predicted.json()["predictions"]
        assert len(answers) == 2 and all(set(a["probabilities"]) == {"x", "y", "z"} for a in answers), answers

    # Deleting the jobs and the dataset through the API leaves none of their objects in the bucket.
    keys = {pk: TrainingJob.objects.get(pk=pk).storage_key for pk in jobs}
    for pk, key in keys.items():
        assert s3.keys(f"jobs/{key}/artifacts/") and s3.keys(f"jobs/{key}/checkpoint/")
        assert api.delete(f"{d.url}/api/jobs/{pk}/", timeout=60).status_code == 204
        wait_for(lambda key=key: s3.keys(f"jobs/{key}/") == [], 30, 0.2, f"jobs/{key}/ to leave the bucket")
    assert api.delete(f"{d.url}/api/datasets/{dataset.pk}/", timeout=60).status_code == 204
    wait_for(lambda: s3.keys(f"{prefix}/") == [], 30, 0.2, f"{prefix}/ to leave the bucket")
    assert s3.keys() == []

    # storage_orphans, run on the web host, finds an object no row owns in the bucket and removes it.
    orphan = f"jobs/{uuid.uuid4()}/artifacts/left.bin"
    s3.client().put_object(Bucket=s3.bucket, Key=orphan, Body=b"x" * 100)
    listed = d.orphans()
    assert orphan.rsplit("/", 2)[0] in listed and "1 orphan(s)" in listed, listed
    assert "Removed 1 orphan(s)" in d.orphans("--delete")
    assert s3.keys() == []


def frozen_after_a_stored_checkpoint(d: Deployment, pk: int, epochs: int) -> tuple[Host, int]:
    """Once the job has stored its first checkpoint in the bucket, freeze its training process
    (SIGSTOP) on whichever trainer runs it: (that trainer, the process's id on this machine)."""
    job = TrainingJob.objects.get(pk=pk)
    state = f"jobs/{job.storage_key}/checkpoint/state.json"

    def stored() -> bool:
        job.refresh_from_db()
        assert job.status in ("queued", "running"), f"job {job.status} before it could be stopped: {job.error}"
        return job.status == "running" and job.epoch >= 1 and state in d.s3.keys(state)

    wait_for(stored, 600, 0.05, "the job to store its first checkpoint")
    host = d.trainer_of(job.worker_host)
    pool = host.pid_here(job.worker_pid)
    for pid in children_of(pool):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if job.run_token.encode() in args or args[-2:] == [job.framework.encode(), b""]:
            os.kill(pid, signal.SIGSTOP)
            break
    else:
        raise AssertionError(f"no training process under {pool} on {host.name}")
    job.refresh_from_db()
    assert job.status == "running" and 1 <= job.epoch < epochs, (job.status, job.epoch)
    return host, pid


def stored_epoch(d: Deployment, pk: int) -> int:
    key = TrainingJob.objects.get(pk=pk).storage_key
    return json.loads(d.s3.read(f"jobs/{key}/checkpoint/state.json"))["epoch"]


def fetch_checkpoints(d: Deployment, root: Path, *pks: int) -> None:
    """The jobs' stored checkpoints into root, as their folders under a data root."""
    for pk in pks:
        for key in d.s3.keys(f"jobs/{TrainingJob.objects.get(pk=pk).storage_key}/checkpoint/"):
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(d.s3.read(key))


# 600 batches an epoch: the run is frozen after its first stored checkpoint, which under load reached
# the bucket as late as the fourth epoch.
ROWS, EPOCHS = 8000, 8
TRAINING = {"epochs": EPOCHS, "batch_size": 8, "learning_rate": 0.001, "seed": 5}


def test_a_warm_shutdown_hands_the_job_to_the_other_trainer_from_the_stored_checkpoint(
    hosts: Deployment, alice: Any, settings: Any, tmp_path: Path
) -> None:
    d = hosts
    api = d.api(alice)
    dataset = d.upload(api, rows=ROWS)
    reference = d.succeeded(api, d.submit(api, dataset, "torch", **TRAINING))
    pk = d.submit(api, dataset, "torch", **TRAINING)
    first, _child = frozen_after_a_stored_checkpoint(d, pk, EPOCHS)
    (second,) = (h for h in d.trainers.values() if h is not first)
    # Celery's warm shutdown alone would wait for the (frozen) job; the trainer hands it back and exits.
    assert first.terminate(timeout=90) == 0, first.log()[-3000:]
    checkpoint = stored_epoch(d, pk)
    job = d.succeeded(api, pk)
    assert job["worker_host"] == f"celery@{second.name}", job["worker_host"]
    # Every epoch it had stored is kept; the handover is not counted as an attempt.
    assert job["attempts"] == 1 and job["resumed_from_epoch"] == checkpoint >= 1, job
    assert job["interruption"].startswith(f"Attempt 1 stopped: its trainer (celery@{first.name}"), job["interruption"]
    assert job["interruption"].endswith("Resumed from its last checkpoint on the next free trainer."), job
    assert [m["epoch"] for m in d.get(api, f"/api/jobs/{pk}/metrics/")["results"]] == list(range(1, EPOCHS + 1))
    # Equal (1e-6) to the uninterrupted run: metrics, evaluation and the final weights as stored.
    settings.LAYERLOOM_DATA_ROOT = tmp_path
    fetch_checkpoints(d, tmp_path, pk, reference["id"])
    assert_same_run(TrainingJob.objects.get(pk=pk), TrainingJob.objects.get(pk=reference["id"]))


def test_a_trainer_host_killed_outright_is_recovered_by_the_heartbeat_rule(hosts: Deployment, alice: Any) -> None:
    d = hosts
    api = d.api(alice)
    dataset = d.upload(api, rows=ROWS, seed=1)
    assert d.reap()["requeued"] == []  # the check's process starts now: later calls answer at once
    pk = d.submit(api, dataset, "torch", **TRAINING)
    lost, _child = frozen_after_a_stored_checkpoint(d, pk, EPOCHS)
    (other,) = (h for h in d.trainers.values() if h is not lost)
    lost.kill()  # SIGKILL to every process of the host
    checkpoint = stored_epoch(d, pk)
    job = TrainingJob.objects.get(pk=pk)
    last_beat = job.heartbeat_at
    # The run's owner was on another machine (this process's namespace is the web host's): nothing
    # here can see that it died, and until the heartbeat is HEARTBEAT_TIMEOUT seconds old the
    # check leaves the job alone.
    assert job.run_owner and liveness.is_alive(job.run_owner) is None, job.run_owner
    assert pk not in d.reap()["requeued"]
    assert (timezone.now() - last_beat).total_seconds() < HEARTBEAT_TIMEOUT, "the check came too late to tell"
    wait_for(lambda: pk in d.reap()["requeued"], HEARTBEAT_TIMEOUT + 60, 0.5, "the recovery check to requeue the job")
    waited = (timezone.now() - last_beat).total_seconds()
    assert HEARTBEAT_TIMEOUT <= waited <= HEARTBEAT_TIMEOUT + 10, waited
    job = d.succeeded(api, pk)
    assert job["worker_host"] == f"celery@{other.name}", job["worker_host"]
    assert job["attempts"] == 2 and job["resumed_from_epoch"] == checkpoint >= 1, job
    assert f"on celery@{lost.name}) stopped sending heartbeats" in job["interruption"], job["interruption"]
    assert [m["epoch"] for m in d.get(api, f"/api/jobs/{pk}/metrics/")["results"]] == list(range(1, EPOCHS + 1))
