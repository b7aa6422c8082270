"""The compare page's "Download TensorBoard logs" in a real browser: offered for the compared
jobs that have logs (the others named), it downloads one zip in which TensorBoard's reader
finds each job as its own train and validation runs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import add_artifact, make_job
from tests.e2e.checks import check_page
from tests.workers.helpers import make_dataset
from tests.workers.test_tensorboard_logs import read_logs, scalar_tags, session_hparams
from workers.training.tensorboard_logs import JobLogWriter

pytestmark = pytest.mark.django_db(transaction=True)


def logs_zip(tmp: Path, job: Any) -> bytes:
    """What the worker publishes as tensorboard.zip: the job's folder with its runs."""
    root = tmp / f"logs-{job.pk}"
    writer = JobLogWriter.for_job(root, job.pk, job.dataset.name, job.framework, {"learning_rate": 0.01 * job.pk})
    for epoch in (1, 2):
        writer.scalars(epoch, {"loss": 1 / epoch, "val_loss": 2 / epoch})
    writer.close()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root))
    return out.getvalue()


def test_download_the_compared_jobs_logs_as_one_folder(page: Any, sign_in: Any, alice: Any, tmp_path: Path) -> None:
    dataset = make_dataset(alice, "tabular")
    done = [make_job(alice, dataset, status="succeeded", epoch=2) for _ in range(2)]
    for job in done:
        artifact = add_artifact(job, "tensorboard.zip", logs_zip(tmp_path, job))
        artifact.kind = "tensorboard"
        artifact.save()
    queued = make_job(alice, dataset)
    sign_in(alice)
    page.goto(f"/jobs/compare/?ids={done[0].pk},{queued.pk},{done[1].pk}")

    offer = page.locator("#compare-logs")
    offer.wait_for(state="visible")
    assert f"no logs yet for #{queued.pk}" in offer.inner_text()
    check_page(page, "compare-logs")
    with page.expect_download() as download:
        offer.get_by_role("link", name="Download TensorBoard logs").click()
    assert download.value.suggested_filename == f"tensorboard-jobs-{done[0].pk}-{done[1].pk}.zip"
    zipfile.ZipFile(download.value.path()).extractall(tmp_path / "unpacked")

    runs = read_logs(tmp_path / "unpacked" / "layerloom-logs")
    folders = [f"job-{job.pk}-keras-tiny-tabular" for job in done]
    assert set(runs.Runs()) == {f"{folder}{run}" for folder in folders for run in ("", "/train", "/validation")}
    assert scalar_tags(runs, f"{folders[1]}/train") == scalar_tags(runs, f"{folders[1]}/validation") == {"epoch_loss"}
    assert session_hparams(runs, folders[1])["learning_rate"] == pytest.approx(0.01 * done[1].pk)
