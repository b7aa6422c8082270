"""The storage_key migrations: rows made before them get distinct keys and keep their files."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("builder", "0001_initial"), ("workers", "0001_initial")]
AFTER = [("builder", "0002_dataset_storage_key"), ("workers", "0002_trainingjob_storage_key")]


def _migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_existing_rows_get_distinct_keys_and_their_files_move_with_them(django_user_model):
    root = Path(settings.LAYERLOOM_DATA_ROOT)
    old_apps = _migrate(BEFORE)
    try:
        User = old_apps.get_model(*settings.AUTH_USER_MODEL.split("."))
        Dataset = old_apps.get_model("builder", "Dataset")
        Job = old_apps.get_model("workers", "TrainingJob")
        Artifact = old_apps.get_model("workers", "Artifact")
        owner = User.objects.create(username="legacy")
        datasets = [
            Dataset.objects.create(owner=owner, name=f"d{i}", kind="tabular", sha256="0" * 64, status="ready")
            for i in range(2)
        ]
        jobs = []
        for ds in datasets:
            ds.source = f"datasets/{ds.pk}/source/upload.csv"
            ds.save()
            _write(root / ds.source, f"csv of {ds.pk}")
            job = Job.objects.create(owner=owner, spec={}, dataset=ds, dataset_version=1, framework="torch")
            _write(root / f"jobs/{job.pk}/artifacts/model.onnx", f"model of {job.pk}")
            _write(root / f"jobs/{job.pk}/checkpoint/state.pt", f"state of {job.pk}")
            Artifact.objects.create(job=job, kind="onnx", filename="model.onnx", size_bytes=1, sha256="0" * 64,
                                    path=f"jobs/{job.pk}/artifacts/model.onnx")  # fmt: skip
            jobs.append(job)

        new_apps = _migrate(AFTER)
        Dataset = new_apps.get_model("builder", "Dataset")
        Job = new_apps.get_model("workers", "TrainingJob")
        Artifact = new_apps.get_model("workers", "Artifact")
        keys = {d.storage_key for d in Dataset.objects.all()} | {j.storage_key for j in Job.objects.all()}
        assert None not in keys and len(keys) == 4
        for old_ds, old_job in zip(datasets, jobs, strict=True):
            ds, job = Dataset.objects.get(pk=old_ds.pk), Job.objects.get(pk=old_job.pk)
            assert ds.source == f"datasets/{ds.storage_key}/source/upload.csv"
            assert (root / ds.source).read_text() == f"csv of {ds.pk}"
            assert not (root / f"datasets/{ds.pk}").exists()
            artifact = Artifact.objects.get(job_id=job.pk)
            assert artifact.path == f"jobs/{job.storage_key}/artifacts/model.onnx"
            assert (root / artifact.path).read_text() == f"model of {job.pk}"
            assert (root / f"jobs/{job.storage_key}/checkpoint/state.pt").read_text() == f"state of {job.pk}"
            assert not (root / f"jobs/{job.pk}").exists()
    finally:  # back to the latest migrations for the tests that follow
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
