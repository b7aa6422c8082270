"""`manage.py storage_orphans`: finds the files no row owns, removes them only with --delete."""

from __future__ import annotations

import io
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.api.conftest import add_artifact, make_job
from tests.workers.helpers import make_dataset

pytestmark = pytest.mark.django_db

HOUR_AGO = time.time() - 7200


def aged(path: Path, content: bytes = b"x" * 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def age_tree(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (HOUR_AGO, HOUR_AGO))


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("storage_orphans", *args, stdout=out)
    return out.getvalue()


def test_orphans_are_listed_then_removed_and_owned_files_stay(alice: Any, settings: Any, tmp_path: Path) -> None:
    root = settings.LAYERLOOM_DATA_ROOT = tmp_path / "data"  # the suite's shared data root holds other tests' files
    dataset = make_dataset(alice, "tabular", n=40)
    job = make_job(alice, dataset, status="succeeded")
    add_artifact(job)
    owned = sorted(p for p in [*dataset.data_dir.rglob("*"), *job.job_dir.rglob("*")] if p.is_file())

    stray_dataset = aged(root / "datasets" / str(uuid.uuid4()) / "v1" / "X_train.npy", b"a" * 100)
    legacy_job = aged(root / "jobs" / "1" / "checkpoint" / "state.pt", b"b" * 50)
    old_version = aged(dataset.data_dir / "v7" / "X_train.npy", b"c" * 20)
    old_upload = aged(root / "incoming" / "upload-abc.part", b"d" * 5)
    age_tree(root)
    fresh = root / "jobs" / str(uuid.uuid4())  # being written right now: not judged yet
    fresh.mkdir(parents=True)
    (fresh / "model_torch.py").write_text("#")

    listing = run()
    for path in (stray_dataset.parents[1], legacy_job.parents[1], old_version.parent, old_upload):
        assert f"orphan: {path} (" in listing
    assert str(fresh) not in listing and f"{job.job_dir} " not in listing
    assert "4 orphan(s), 175 bytes; run again with --delete" in listing
    assert stray_dataset.exists() and legacy_job.exists()  # listing removes nothing

    removed = run("--delete")
    assert "Removed 4 orphan(s), 175 bytes." in removed
    assert not stray_dataset.parents[1].exists() and not legacy_job.parents[1].exists()
    assert not old_version.parent.exists() and not old_upload.exists()
    assert fresh.exists() and all(path.exists() for path in owned)
    assert "0 orphan(s), 0 bytes." in run()
