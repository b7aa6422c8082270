"""`layerloom logs JOB...`: two trained jobs' TensorBoard logs, downloaded from a live server
by the client process, laid out as one log folder that TensorBoard's own reader opens as two
jobs, each with its train and validation runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.api.conftest import token_client
from tests.cli.test_client import layerloom
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.models import TrainingJob


def epoch_losses(run: Path) -> list[tuple[int, float]]:
    """The run's epoch_loss scalars as TensorBoard reads them from the event files."""
    accumulator = EventAccumulator(str(run))
    accumulator.Reload()
    assert "epoch_loss" in accumulator.Tags()["scalars"], accumulator.Tags()
    return [(event.step, event.value) for event in accumulator.Scalars("epoch_loss")]


@pytest.mark.django_db(transaction=True)
def test_logs_lays_two_jobs_out_as_one_folder_that_tensorboard_reads(
    live_server: Any, celery_worker: Any, alice: Any, bob: Any, tmp_path: Path
) -> None:
    api = token_client(alice)
    dataset = make_dataset(alice, "tabular")
    ids = []
    for framework in ("keras", "torch"):
        body = {"dataset": dataset.pk, "spec": SPECS["tabular"], "framework": framework, "hyperparameters": hp()}
        response = api.post("/api/jobs/", body, format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    for pk in ids:
        wait_status(TrainingJob.objects.get(pk=pk), "succeeded", worker=celery_worker)
    token = Token.objects.get(user=alice).key
    connection = ("--url", live_server.url, "--token", token)

    result = layerloom(tmp_path, *connection, "logs", str(ids[0]), str(ids[1]), "-o", "runs")
    folders = [f"job-{ids[0]}-keras-tiny-tabular", f"job-{ids[1]}-torch-tiny-tabular"]
    assert result.stdout.split() == [f"runs/{name}" for name in folders]
    assert "tensorboard --logdir runs" in result.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(folders)  # nothing else left there
    for name in folders:
        for run in ("train", "validation"):
            assert [step for step, _ in epoch_losses(tmp_path / "runs" / name / run)] == [1, 2]

    # Again into the same folder: each job's folder is replaced, not doubled.
    layerloom(tmp_path, *connection, "logs", str(ids[1]), "-o", "runs")
    assert [step for step, _ in epoch_losses(tmp_path / "runs" / folders[1] / "validation")] == [1, 2]

    # Another user's job: the server's 404 naming it, one line, exit 1, and nothing written.
    bob_token = Token.objects.get_or_create(user=bob)[0].key
    refused = layerloom(tmp_path, "--url", live_server.url, "--token", bob_token, "logs", str(ids[0]),
                        "-o", "bob-runs", check=False)  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith("error: HTTP 404") and str(ids[0]) in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "bob-runs").exists()


def test_logs_without_a_job_id_is_a_usage_error(tmp_path: Path) -> None:
    result = layerloom(tmp_path, "logs", check=False)
    assert result.returncode == 2 and "JOB" in result.stderr
