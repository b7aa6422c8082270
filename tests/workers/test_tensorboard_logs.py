"""TensorBoard logs that compare, read back with TensorBoard's own reader: each job under its
own folder, train and validation as two runs with the same tags, hyperparameters in the
HParams plugin; two jobs' logs unpacked into one folder (their own zips, or the API's zip of
both) are two jobs, not one run."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import metadata as hparams_metadata

from tests.api.conftest import make_job, token_client
from tests.workers.helpers import SPECS, hp, make_dataset, wait_status
from workers.logfolders import job_log_folder
from workers.models import TrainingJob
from workers.training.tensorboard_logs import JobLogWriter

EPOCH_TAGS = {"epoch_loss", "epoch_accuracy"}


def read_logs(folder: Path) -> EventMultiplexer:
    runs = EventMultiplexer()
    runs.AddRunsFromDirectory(str(folder))
    runs.Reload()
    return runs


def scalar_tags(runs: EventMultiplexer, run: str) -> set[str]:
    return set(runs.GetAccumulator(run).Tags()["scalars"])


def session_hparams(runs: EventMultiplexer, run: str) -> dict[str, Any]:
    """The hyperparameters the HParams plugin reads for one session (a job's folder)."""
    content = runs.PluginRunToTagToContent(hparams_metadata.PLUGIN_NAME)[run]
    start = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
    return {key: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind")) for key, value in
            start.hparams.items()}  # fmt: skip


def test_the_folder_is_named_for_the_job_and_safe_whatever_the_dataset_is_called() -> None:
    assert job_log_folder(42, "keras", "Wine") == "job-42-keras-wine"
    assert job_log_folder(7, "torch", "../../données 名前 🌸 v2") == "job-7-torch-donnees-v2"
    assert job_log_folder(8, "torch", "名前") == "job-8-torch-dataset"


def test_train_and_validation_are_two_runs_with_the_same_tags_and_the_job_has_hparams(tmp_path: Path) -> None:
    for job_id, rate in ((1, 0.01), (2, 0.1)):
        writer = JobLogWriter.for_job(tmp_path, job_id, "wine", "keras",
                                      {"learning_rate": rate, "clipnorm": None, "restore_best_weights": True})  # fmt: skip
        for epoch in (1, 2):
            writer.scalars(epoch, {"loss": 1 / epoch, "accuracy": 0.5, "val_loss": 2 / epoch, "val_accuracy": 0.4,
                                   "epoch_seconds": 0.1, "note": "text is no scalar"})  # fmt: skip
        writer.close()
    runs = read_logs(tmp_path)
    assert set(runs.Runs()) == {f"job-{i}-keras-wine{run}" for i in (1, 2) for run in ("", "/train", "/validation")}
    train, validation = "job-1-keras-wine/train", "job-1-keras-wine/validation"
    assert scalar_tags(runs, train) == EPOCH_TAGS | {"epoch_seconds"}
    assert scalar_tags(runs, validation) == EPOCH_TAGS  # same tags: TensorBoard overlays them in one chart
    assert [(e.step, round(e.value, 6)) for e in runs.Scalars(validation, "epoch_loss")] == [(1, 2.0), (2, 1.0)]
    assert [(e.step, e.value) for e in runs.Scalars(train, "epoch_loss")] == [(1, 1.0), (2, 0.5)]
    assert session_hparams(runs, "job-2-keras-wine") == {
        "framework": "keras",
        "dataset": "wine",
        "learning_rate": pytest.approx(0.1),
        "restore_best_weights": True,
    }


@pytest.mark.django_db(transaction=True)
def test_two_trained_jobs_open_as_two_comparable_sessions(
    alice: Any, bob: Any, celery_worker: Any, tmp_path: Path
) -> None:
    alice_api, bob_api = token_client(alice), token_client(bob)
    dataset = make_dataset(alice, "tabular")
    ids = []
    for framework, rate in (("keras", 0.01), ("torch", 0.05)):
        body = {"dataset": dataset.pk, "spec": SPECS["tabular"], "framework": framework,
                "hyperparameters": hp(learning_rate=rate)}  # fmt: skip
        response = alice_api.post("/api/jobs/", body, format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    jobs = [wait_status(TrainingJob.objects.get(pk=pk), "succeeded", worker=celery_worker) for pk in ids]
    folders = [f"job-{job.pk}-{job.framework}-tiny-tabular" for job in jobs]

    # Each job's own tensorboard.zip, unpacked into one folder: two jobs, each with its two runs.
    for job in jobs:
        with zipfile.ZipFile(job.artifacts.get(kind="tensorboard").absolute_path) as zf:
            zf.extractall(tmp_path / "own")
    runs = read_logs(tmp_path / "own")
    assert set(runs.Runs()) == {f"{folder}{run}" for folder in folders for run in ("", "/train", "/validation")}
    for folder in folders:
        assert EPOCH_TAGS <= scalar_tags(runs, f"{folder}/train")
        assert scalar_tags(runs, f"{folder}/validation") == EPOCH_TAGS
        assert [e.step for e in runs.Scalars(f"{folder}/validation", "epoch_loss")] == [1, 2]
    keras, torch = (session_hparams(runs, folder) for folder in folders)
    assert (keras["framework"], torch["framework"]) == ("keras", "torch")
    assert (keras["learning_rate"], torch["learning_rate"]) == (pytest.approx(0.01), pytest.approx(0.05))
    assert keras.keys() == torch.keys() and {"batch_size", "epochs", "optimizer", "dataset"} <= keras.keys()

    # The compare page's download: both jobs as one log folder.
    response = alice_api.get(f"/api/jobs/logs/?ids={ids[0]},{ids[1]}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).extractall(tmp_path / "api")
    together = read_logs(tmp_path / "api" / "layerloom-logs")
    assert set(together.Runs()) == set(runs.Runs())
    assert session_hparams(together, folders[1]) == torch

    # Another user's job is a 404 naming it, whichever jobs come with it; so is an unknown one.
    for query in (f"{ids[0]}", f"{ids[1]},{ids[0]}"):
        response = bob_api.get(f"/api/jobs/logs/?ids={query}")
        assert response.status_code == 404 and str(ids[0]) in response.json()["errors"][0]["message"]
    assert bob_api.get(f"/api/jobs/logs/?ids={max(ids) + 100}").status_code == 404


@pytest.mark.django_db
def test_the_logs_download_names_what_is_wrong(alice: Any) -> None:
    alice_api = token_client(alice)
    queued = make_job(alice, make_dataset(alice, "tabular"))
    for query, words in (("", "separated by commas"), ("?ids=a,b", "separated by commas"),
                         ("?ids=" + ",".join(map(str, range(1, 60))), "At most 50"),
                         (f"?ids={queued.pk}", f"No TensorBoard logs yet for job #{queued.pk} (queued)")):  # fmt: skip
        response = alice_api.get(f"/api/jobs/logs/{query}")
        assert response.status_code == 400, query
        assert words in response.json()["errors"][0]["message"], response.json()
