"""The file store on an S3-compatible server (moto's server mode on a loopback port).

The web side (this process) and a real Celery worker each have their own data root and cache
folder and share nothing but PostgreSQL/Redis and the bucket: what one of them wrote, the
other can only have read from the store. A CSV uploaded through the API is ingested by the
worker, trained in each framework, its artifacts download through the API (a presigned
redirect, or chunks streamed from the store), a prediction answers, a stored checkpoint is
resumable after the trainer's folders are wiped, and deleting the job and the dataset leaves
nothing of theirs in the bucket; `storage_orphans` finds and removes an object no row owns.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from builder.models import Dataset
from tests.api.conftest import token_client
from tests.datasets.factories import class_table
from tests.datasets.test_ingest_task import wait_until_settled
from tests.support.s3_server import S3Server, store_settings
from tests.workers.helpers import hp, make_dataset, wait_for, wait_status
from webapp import filecache, filestore
from workers.models import TrainingJob
from workers.placement import training_queues
from workers.training import checkpoints

# Real trainings (a job resumed after its trainer was killed is two): minutes on a busy shared CPU.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1200)]

SPEC = {"format": 1, "name": "tiny", "input": {"shape": [4]}, "layers": [
    {"id": "h", "type": "Dense", "params": {"units": 8, "activation": "relu"}},
    {"id": "out", "type": "Dense", "params": {"units": 3, "activation": "softmax"}}]}  # fmt: skip


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_store(s3: S3Server, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process uses the bucket, with its own (empty) data root and cache."""
    for name, value in store_settings(s3).items():
        setattr(settings, name, value)
    settings.LAYERLOOM_DATA_ROOT = tmp_path / "web-data"
    settings.LAYERLOOM_CACHE_DIR = tmp_path / "web-cache"
    monkeypatch.setattr(filecache, "_known", {})
    assert not filestore.is_local()
    return settings.LAYERLOOM_DATA_ROOT


@pytest.fixture
def s3_worker(s3: S3Server, web_store: Path, worker_factory: Any, settings: Any, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Any:  # fmt: skip
    """A worker on private ingest and training queues, with its own data root and cache folder."""
    queue = f"s3-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr("builder.datasets.upload.INGEST_QUEUE", f"{queue}-ingest")
    settings.LAYERLOOM_TRAINING_QUEUE = queue
    env = {**s3.env(), "LAYERLOOM_DATA_ROOT": str(tmp_path / "trainer-data"),
           "LAYERLOOM_CACHE_DIR": str(tmp_path / "trainer-cache"), "LAYERLOOM_KEEP_CHECKPOINTS": "1"}  # fmt: skip
    worker = worker_factory(queues=f"{queue}-ingest,{training_queues(queue)}", extra_env=env)
    worker.data_root = tmp_path / "trainer-data"
    worker.cache_dir = tmp_path / "trainer-cache"
    return worker


def test_upload_train_download_predict_and_delete_through_the_bucket(
    s3: S3Server, s3_worker: Any, web_store: Path, alice: Any, settings: Any
) -> None:
    api = token_client(alice)
    body = {"file": SimpleUploadedFile("iris.csv", class_table()), "kind": "tabular", "name": "iris",
            "options": '{"target_column": "species"}'}  # fmt: skip
    response = api.post("/api/datasets/", body, format="multipart")
    assert response.status_code == 201, response.json()
    dataset = Dataset.objects.get(pk=response.json()["id"])
    prefix = f"datasets/{dataset.storage_key}"
    # The upload is in the bucket, and the web host kept no copy of it.
    assert s3.read(dataset.source) == class_table()
    assert not (web_store / dataset.source).exists()
    dataset = wait_until_settled(dataset.pk)
    assert dataset.status == "ready", f"{dataset.error}\n{s3_worker.log()[-3000:]}"
    stored = s3.keys(f"{prefix}/v1/")
    assert f"{prefix}/v1/preprocessing.json" in stored and f"{prefix}/v1/X_train.npy" in stored
    # The worker's materialised folder went into its cache (keyed by content), not its data root.
    assert not (s3_worker.data_root / prefix / "v1").exists()
    assert [e.prefix for e in _cache_entries(s3_worker.cache_dir)] == [f"{prefix}/v1"]

    jobs = {}
    for framework in ("keras", "torch"):
        response = api.post("/api/jobs/", {"spec": SPEC, "dataset": dataset.pk, "framework": framework,
                                           "hyperparameters": hp(epochs=2)}, format="json")  # fmt: skip
        assert response.status_code == 201, response.json()
        jobs[framework] = TrainingJob.objects.get(pk=response.json()["id"])
    for framework, job in jobs.items():
        job = wait_status(job, *TrainingJob.FINISHED, timeout=600, worker=s3_worker)
        assert job.status == TrainingJob.Status.SUCCEEDED, f"{framework}: {job.error}"
        _check_artifacts(s3, api, job, settings)
        _check_prediction(api, job)
        _check_checkpoint_resumes_from_the_store(s3, s3_worker, job)

    # storage_orphans finds an object no row owns (and leaves the owned ones).
    orphan = f"jobs/{uuid.uuid4()}/artifacts/left.bin"
    s3.client().put_object(Bucket=s3.bucket, Key=orphan, Body=b"x" * 100)
    out = io.StringIO()
    call_command("storage_orphans", "--grace", "0", stdout=out)
    assert orphan.rsplit("/", 2)[0] in out.getvalue() and "1 orphan(s)" in out.getvalue(), out.getvalue()
    call_command("storage_orphans", "--grace", "0", "--delete", stdout=io.StringIO())
    assert orphan not in s3.keys("jobs/")

    # Deleting the jobs and the dataset removes their objects from the bucket.
    for job in jobs.values():
        assert s3.keys(f"jobs/{job.storage_key}/")
        assert api.delete(f"/api/jobs/{job.pk}/").status_code == 204
        assert s3.keys(f"jobs/{job.storage_key}/") == []
    assert api.delete(f"/api/datasets/{dataset.pk}/").status_code == 204
    assert s3.keys(f"{prefix}/") == []
    assert s3.keys() == []


def _cache_entries(folder: Path) -> list[Any]:
    found = []
    for mark in folder.glob(f"*/{filecache.MARK}"):
        found.append(type("E", (), json.loads(mark.read_text())))
    return found


def _check_artifacts(s3: S3Server, api: Any, job: TrainingJob, settings: Any) -> None:
    listed = api.get(f"/api/jobs/{job.pk}/artifacts/").json()
    kinds = {a["kind"] for a in listed}
    assert {"onnx", "metrics_csv", "tensorboard"} <= kinds, kinds
    for item in listed:
        assert f"jobs/{job.storage_key}/artifacts/" in job.artifacts.get(pk=item["id"]).path
    onnx = next(a for a in listed if a["kind"] == "onnx")
    key = job.artifacts.get(pk=onnx["id"]).path
    in_bucket = s3.read(key)
    assert hashlib.sha256(in_bucket).hexdigest() == onnx["sha256"]
    # A presigned redirect: the bytes come from the store, not through the web process.
    response = api.get(f"/api/jobs/{job.pk}/artifacts/{onnx['id']}/")
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(s3.url) and response["X-Checksum-SHA256"] == onnx["sha256"]
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200 and fetched.content == in_bucket
    assert f'filename="{onnx["filename"]}"' in fetched.headers["Content-Disposition"]
    # Without presigned URLs the web process streams the object in chunks of at most 1 MiB.
    settings.LAYERLOOM_S3_PRESIGNED_DOWNLOADS = False
    try:
        response = api.get(f"/api/jobs/{job.pk}/artifacts/{onnx['id']}/")
        assert response.status_code == 200 and response.streaming
        chunks = list(response.streaming_content)
        assert b"".join(chunks) == in_bucket and max(len(c) for c in chunks) <= filestore.CHUNK
        assert int(response["Content-Length"]) == len(in_bucket)
    finally:
        settings.LAYERLOOM_S3_PRESIGNED_DOWNLOADS = True


def _check_prediction(api: Any, job: TrainingJob) -> None:
    """The web host, which has none of the job's files, loads the model from the store and answers."""
    answer = api.post(f"/api/jobs/{job.pk}/predict/", {"row": {"a": 0.1, "b": 0.0, "c": 0.2, "d": -0.1}},
                      format="json")  # fmt: skip
    assert answer.status_code == 200, answer.json()
    assert set(answer.json()["predictions"][0]["probabilities"]) == {"x", "y", "z"}


def _check_checkpoint_resumes_from_the_store(s3: S3Server, worker: Any, job: TrainingJob) -> None:
    """The trainer pushed each checkpoint; with its folders wiped, the stored one still loads."""
    prefix = f"jobs/{job.storage_key}/checkpoint"
    weights = "weights-2.npz" if job.framework == "keras" else "state-2.pt"  # after the second epoch
    stored = {key.rsplit("/", 1)[1] for key in s3.keys(prefix + "/")}
    assert {"state.json", weights} <= stored and not {"weights-1.npz", "state-1.pt"} & stored, stored
    shutil.rmtree(worker.data_root / "jobs" / str(job.storage_key))
    shutil.rmtree(worker.cache_dir, ignore_errors=True)
    state = checkpoints.load_state(job.checkpoint_dir, job.framework, checkpoints.owner_of(job))
    assert state is not None and state["epoch"] == 2 and state["weights"] == weights, state
    assert (job.checkpoint_dir / weights).read_bytes() == s3.read(f"{prefix}/{weights}")


def test_the_dataset_cache_keeps_its_bound_least_recently_used_first(
    s3: S3Server, web_store: Path, settings: Any
) -> None:
    """Three stored versions of 0.6 MiB each in a 1 MiB cache: fetching one evicts the least
    recently used other; a changed version is a new entry (its content hash differs)."""
    settings.LAYERLOOM_CACHE_MAX_MB = 1
    prefixes = [f"datasets/{uuid.uuid4()}/v1" for _ in range(3)]
    for i, prefix in enumerate(prefixes):
        for name in ("X_train.npy", "preprocessing.json"):
            s3.client().put_object(Bucket=s3.bucket, Key=f"{prefix}/{name}", Body=bytes([i]) * (300 * 1024))
    first = filestore.local_dir(prefixes[0])
    assert (first / "X_train.npy").read_bytes() == bytes([0]) * (300 * 1024)
    assert filestore.local_dir(prefixes[0]) == first  # a hit: the same folder, nothing downloaded again
    filestore.local_dir(prefixes[1])  # over the bound: the first goes, never the one handed out
    assert [e.prefix for e in filecache.entries()] == [prefixes[1]] and not first.exists()
    filestore.local_dir(prefixes[2])
    assert [e.prefix for e in filecache.entries()] == [prefixes[2]]
    settings.LAYERLOOM_CACHE_MAX_MB = 10
    for prefix in prefixes:
        filestore.local_dir(prefix)
    filestore.local_dir(prefixes[0])  # used last: listed first
    assert [e.prefix for e in filecache.entries()] == [prefixes[0], prefixes[2], prefixes[1]]
    # The command shows the entries against the bound, and --clear empties the cache.
    out = io.StringIO()
    call_command("layerloom_cache", stdout=out)
    assert f"S3 bucket {s3.bucket}" in out.getvalue() and "3 entries" in out.getvalue(), out.getvalue()
    assert all(p in out.getvalue() for p in prefixes)
    call_command("layerloom_cache", "--clear", stdout=io.StringIO())
    assert filecache.entries() == []
    # A version that a running job's process holds (a shared lock on its mark) is never evicted.
    settings.LAYERLOOM_CACHE_MAX_MB = 1
    held = filestore.local_dir(prefixes[1])
    with open(held / filecache.MARK) as mark:
        fcntl.flock(mark, fcntl.LOCK_SH)
        filestore.local_dir(prefixes[2])
        assert {e.prefix for e in filecache.entries()} == {prefixes[1], prefixes[2]}
    filestore.local_dir(prefixes[0])
    assert [e.prefix for e in filecache.entries()] == [prefixes[0]]
    # A version whose content changed is fetched again under a new hash.
    old = filestore.local_dir(prefixes[0]).name
    s3.client().put_object(Bucket=s3.bucket, Key=f"{prefixes[0]}/preprocessing.json", Body=b"{}")
    filecache._known.clear()
    assert filestore.local_dir(prefixes[0]).name != old
    for prefix in prefixes:
        filestore.delete_prefix(prefix)
    assert s3.keys("datasets/") == []


def test_a_job_whose_trainer_was_lost_resumes_on_another_from_the_stored_checkpoint(
    s3: S3Server, web_store: Path, alice: Any, worker_factory: Any, private_queue: str, tmp_path: Path
) -> None:
    """Trainer A checkpoints to the bucket and is killed mid-run, its folders wiped (a lost host);
    trainer B, with folders of its own, resumes from the stored checkpoint and ends equal (1e-6)
    to an uninterrupted run."""
    from tests.faults.helpers import DROPOUT_SPEC, FAULT_ENV, assert_same_run, training_process
    from workers.recovery import reap_stale_jobs
    from workers.services import submit_job

    def trainer(name: str) -> Any:
        env = {**FAULT_ENV, **s3.env(), "LAYERLOOM_DATA_ROOT": str(tmp_path / name / "data"),
               "LAYERLOOM_CACHE_DIR": str(tmp_path / name / "cache")}  # fmt: skip
        return worker_factory(queues=training_queues(private_queue), max_tasks_per_child=1, extra_env=env)

    ds = make_dataset(alice, "tabular", n=12000)
    filestore.push_dir(ds.version_dir)  # as ingestion stores it
    shutil.rmtree(ds.version_dir)
    params = hp(epochs=4, batch_size=8, learning_rate=0.001, seed=5)

    def submit() -> TrainingJob:
        return submit_job(alice, spec=DROPOUT_SPEC, dataset=ds, framework="torch", hyperparameters=params)

    first = trainer("a")
    reference = wait_status(submit(), *TrainingJob.FINISHED, timeout=900, worker=first)
    assert reference.status == TrainingJob.Status.SUCCEEDED, reference.error
    job = submit()
    state_key = f"jobs/{job.storage_key}/checkpoint/state.json"

    def checkpointed() -> bool:
        job.refresh_from_db()
        assert job.status in ("queued", "running"), f"job {job.status} before it could be stopped: {job.error}"
        return job.status == "running" and job.epoch >= 1 and state_key in s3.keys(state_key)

    wait_for(checkpointed, 600, 0.05, "the job to store its first checkpoint")
    os.kill(training_process(job), signal.SIGSTOP)
    first.kill()
    shutil.rmtree(tmp_path / "a")
    stored_epoch = json.loads(s3.read(state_key))["epoch"]
    wait_for(lambda: reap_stale_jobs()["requeued"] == [job.pk], 30, 0.1, "the recovery check to requeue the job")
    second = trainer("b")
    job = wait_status(job, *TrainingJob.FINISHED, timeout=900, worker=second)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.resumed_from_epoch == stored_epoch >= 1, (job.attempts, job.resumed_from_epoch)
    assert list(job.metrics.values_list("epoch", flat=True)) == [1, 2, 3, 4]
    for row in (job, reference):  # the final weights, as the store has them
        checkpoints.pull(row.checkpoint_dir)
    assert_same_run(job, reference)
