"""Defect 1: a data folder that outlived its database never leaks into new rows.

The database is flushed (ids start again at 1) while the data root stays; a new user's
dataset and job get the same integer ids as the old ones, and must not see their files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.workers.helpers import SPECS, hp, make_dataset, wait_for, wait_status
from workers.models import TrainingJob
from workers.placement import training_queues
from workers.services import submit_job

pytestmark = pytest.mark.django_db(transaction=True)


def _flush() -> None:
    """What a reset or restored database looks like: no rows, sequences back at 1."""
    call_command("flush", interactive=False, verbosity=0)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def _train(username: str, framework: str, seed: int, worker) -> TrainingJob:
    user = get_user_model().objects.create_user(username, password=f"{username}-password-1")
    dataset = make_dataset(user, "tabular", n=120, seed=seed)
    job = submit_job(user, spec=SPECS["tabular"], dataset=dataset, framework=framework,
                     hyperparameters=hp(epochs=2, seed=seed))  # fmt: skip
    job = wait_status(job, *TrainingJob.FINISHED, timeout=240, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    return job


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_new_job_with_a_reused_id_does_not_see_the_old_jobs_files(worker_factory, private_queue, framework):
    # Checkpoints kept, as after a crash or with LAYERLOOM_KEEP_CHECKPOINTS: the worst case.
    worker = worker_factory(queues=training_queues(private_queue), extra_env={"LAYERLOOM_KEEP_CHECKPOINTS": "1"})
    _flush()
    old = _train("olduser", framework, seed=1, worker=worker)
    old_dataset_dir, old_job_dir = old.dataset.data_dir, old.job_dir
    assert (old_job_dir / "checkpoint").exists(), "the old job is expected to leave a checkpoint behind"
    old_dataset_files, old_job_files = _digests(old_dataset_dir), _digests(old_job_dir)
    old_artifacts = {a.filename: a.sha256 for a in old.artifacts.all()}

    _flush()  # the data root stays
    new = _train("newuser", framework, seed=2, worker=worker)

    assert (new.pk, new.dataset.pk) == (old.pk, old.dataset.pk), "ids are expected to be reused after a flush"
    assert new.job_dir != old_job_dir and new.dataset.data_dir != old_dataset_dir
    # It trained every epoch itself instead of resuming the old checkpoint.
    assert new.resumed_from_epoch is None and new.attempts == 1
    assert [m.epoch for m in new.metrics.all()] == [1, 2]
    # Its artifacts are its own files, under its own folder, and differ from the old model's.
    for artifact in new.artifacts.all():
        assert artifact.path.startswith(f"jobs/{new.storage_key}/")
        assert artifact.absolute_path.is_file()
    native = "model.safetensors" if framework == "torch" else "model.keras"
    new_native = new.artifacts.get(filename=native).sha256
    assert new_native != old_artifacts[native]
    # The old folders are untouched: neither read nor overwritten by the new rows.
    assert _digests(old_dataset_dir) == old_dataset_files and _digests(old_job_dir) == old_job_files


def test_a_new_dataset_with_a_reused_id_neither_reads_nor_overwrites_the_old_ones_files():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from builder.datasets.arrays import load_split
    from builder.datasets.ingest import run_ingest
    from builder.datasets.upload import create_dataset_from_upload
    from tests.datasets.factories import iris_like

    def upload(username: str, rows: int):
        user = get_user_model().objects.create_user(username)
        dataset = create_dataset_from_upload(user, SimpleUploadedFile("t.csv", iris_like(rows)), "t", "tabular",
                                             {"target_column": "species"})  # fmt: skip
        run_ingest(dataset.pk)  # "skipped" when a worker of the session took the message first

        def settled() -> bool:
            dataset.refresh_from_db()
            return dataset.status in ("ready", "failed")

        wait_for(settled, 60, what="ingestion")
        assert dataset.status == "ready", dataset.error
        return dataset

    _flush()
    old = upload("olduser", 90)
    old_files = _digests(old.data_dir)
    _flush()
    new = upload("newuser", 60)
    assert new.pk == old.pk and new.data_dir != old.data_dir
    assert _digests(old.data_dir) == old_files  # the old arrays were neither removed nor replaced
    X, _ = load_split(new.version_dir, "train")
    assert new.profile["rows"] == 60 and len(X) == new.profile["splits"]["train"]
