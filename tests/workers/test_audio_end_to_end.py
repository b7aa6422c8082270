"""Audio end to end with real processes, in both frameworks: the spoken-word set (8 words, 10
voices) uploaded as a zip, ingested and trained with the fitted audio preset by a Celery
worker, exported; the predict endpoint, given the test clips as uploaded files, answers what
the worker recorded at evaluation (ONNX Runtime against the framework's own model, 1e-6) and
what the code bundle's predict.py answers on the same WAV files.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from builder.datasets.kinds import get_kind
from builder.datasets.kinds.base import PresetFacts
from builder.datasets.upload import create_dataset_from_upload
from serving.sessions import CACHE
from tests.api.conftest import token_client
from tests.datasets.test_ingest_task import wait_until_settled
from tests.export import helpers as bundle_helpers
from tests.serving.helpers import b64
from tests.support.spoken_words import spoken_words_zip
from tests.workers.helpers import hp, wait_status
from tests.workers.test_train_end_to_end import (
    TOLERANCE,
    assert_baselines,
    assert_files_recorded,
    assert_readme_shows_the_baselines,
    recorded,
)
from workers.models import TrainingJob
from workers.services import submit_job

# The audio kind's path from clips to answers does not depend on the database or broker.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.one_backend]
SPLIT = [0.6, 0.2, 0.2]
EPOCHS = 12


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_the_audio_preset_trains_and_serves_uploaded_clips_as_evaluated(celery_worker, alice, bob, framework, tmp_path):
    CACHE.clear()  # ids repeat between tests' databases: no model loaded by an earlier test
    dataset, job = trained(alice, celery_worker, framework, epochs=EPOCHS)
    ids, clips = test_clips(dataset)
    assert_evaluated(job, dataset, len(ids))
    assert_files_recorded(job, framework)
    # The words are learnt: far above chance (1 in 8) after a few epochs on 96 training clips.
    assert job.evaluation["accuracy"] >= 0.6, job.evaluation["accuracy"]

    api = token_client(alice)
    response = api.post(f"/api/jobs/{job.pk}/predict/", {"clips": [b64(c) for c in clips]}, format="json")
    assert response.status_code == 200, response.json()
    served = response.json()["predictions"]
    # Uploaded as files (a multipart body takes up to 10), the clips are answered the same.
    files = [SimpleUploadedFile(f"{n}.wav", data, content_type="audio/wav") for n, data in enumerate(clips[:8])]
    uploaded = api.post(f"/api/jobs/{job.pk}/predict/", {"clips": files}, format="multipart")
    assert uploaded.status_code == 200 and uploaded.json()["predictions"] == served[:8], uploaded.json()

    names = dataset.class_names
    worker = recorded(job)
    ours = np.array([[p["probabilities"][n] for n in names] for p in served])
    theirs = np.array([[float(worker[i][bundle_helpers._safe(f"p({n})")]) for n in names] for i in ids])
    assert [p["label"] for p in served] == [names[k] for k in theirs.argmax(axis=1)]
    script = bundle_predictions(job, clips, tmp_path)
    differences = {"worker": float(np.abs(ours - theirs).max()), "predict.py": float(np.abs(ours - script).max())}
    print(f"\n{framework} audio: largest differences {differences}")
    assert max(differences.values()) <= TOLERANCE, differences
    if framework == "keras":
        bad_inputs_are_named(job, api, token_client(bob))
    else:
        retrains_from_class_folders(job, clips, [names[k] for k in theirs.argmax(axis=1)], tmp_path)


def bad_inputs_are_named(job: TrainingJob, api, other) -> None:
    url = f"/api/jobs/{job.pk}/predict/"
    bad = api.post(url, {"clips": [b64(b"plain text, not a sound")]}, format="json")
    assert bad.status_code == 400 and "not a WAV, FLAC or OGG" in json.dumps(bad.json())
    wrong = api.post(url, {"rows": [{"a": "1"}]}, format="json")
    assert wrong.status_code == 400 and "clips" in json.dumps(wrong.json())
    upload = SimpleUploadedFile("clip.wav", b"RIFF\x00\x00\x00\x00WAVEjunk", content_type="audio/wav")
    broken = api.post(url, {"clip": upload}, format="multipart")
    assert broken.status_code == 400 and "WAV file could not be decoded" in json.dumps(broken.json())
    assert other.post(url, {"clips": []}, format="json").status_code == 404


def trained(owner, worker, framework: str, epochs: int) -> tuple[object, TrainingJob]:
    upload = SimpleUploadedFile("words.zip", spoken_words_zip(), content_type="application/zip")
    dataset = create_dataset_from_upload(owner, upload, "spoken words", "audio", {"split": SPLIT})
    dataset = wait_until_settled(dataset.pk)
    assert dataset.status == "ready", dataset.error
    assert dataset.input_shape == [40, 101, 1] and len(dataset.class_names) == 8
    facts = PresetFacts(dataset.input_shape, dataset.task, len(dataset.class_names), dataset.profile)
    spec = get_kind("audio").fit_presets(facts)["audio_cnn"]
    job = submit_job(owner, spec=spec, dataset=dataset, framework=framework, hyperparameters=hp(epochs=epochs))
    job = wait_status(job, *TrainingJob.FINISHED, timeout=600, worker=worker)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    return dataset, job


def test_clips(dataset) -> tuple[list[int], list[bytes]]:
    """(dataset ids, WAV bytes) of the test split, read back from the uploaded zip."""
    ids = [int(i) for i in np.load(dataset.version_dir / "ids_test.npy")]
    names = json.loads((dataset.version_dir / "samples.json").read_text())["names"]
    with zipfile.ZipFile(io.BytesIO(spoken_words_zip())) as archive:
        return ids, [archive.read(names[str(i)]) for i in ids]


test_clips.__test__ = False  # a helper, not a test


def assert_evaluated(job: TrainingJob, dataset, test_rows: int) -> None:
    assert [m.epoch for m in job.metrics.order_by("epoch")] == list(range(1, EPOCHS + 1))
    evaluation = job.evaluation
    assert evaluation["split"] == "test" and evaluation["samples"] == test_rows
    assert evaluation["class_names"] == dataset.class_names
    assert all("thumbnail" not in w for w in evaluation.get("worst_misclassified", []))  # not drawn as photos
    assert_baselines(evaluation, dataset, regression=False)
    assert evaluation["baselines"]["models"][1]["label"] == "logistic regression on the standardised log-mel features"
    assert_readme_shows_the_baselines(job)


def bundle_predictions(job: TrainingJob, clips: list[bytes], folder: Path) -> np.ndarray:
    """predict.py from the job's own code bundle, on the clips written as WAV files in a folder."""
    bundle = bundle_helpers.unzip_bundle(job.artifacts.get(kind="code_bundle").absolute_path, folder)
    given = folder / "clips"
    given.mkdir()
    for n, data in enumerate(clips):
        (given / f"{n:04d}.wav").write_bytes(data)  # sorted names keep the order
    requirements = (bundle / "requirements.txt").read_text()
    assert "soundfile==" in requirements and "scipy==" in requirements and "librosa" not in requirements
    bundle_helpers.run_script(bundle / "predict.py", [str(given), "--output", "out.csv"], folder, timeout=240)
    return bundle_helpers.read_predictions(folder / "out.csv", job.dataset.class_names)[1]


def retrains_from_class_folders(job: TrainingJob, clips: list[bytes], labels: list[str], folder: Path) -> None:
    """The bundle's train.py reads WAV files laid out like the upload: one folder per class."""
    data = folder / "by_class"
    for n, (clip, label) in enumerate(zip(clips, labels, strict=True)):
        (data / label).mkdir(parents=True, exist_ok=True)
        (data / label / f"{n}.wav").write_bytes(clip)
    bundle = folder / "code_bundle"  # unzipped there by bundle_predictions
    args = [str(data), "--epochs", "1", "--output", "new.safetensors"]
    out = bundle_helpers.run_script(bundle / "train.py", args, folder, timeout=240).stdout
    assert "epoch 1/1" in out and (folder / "new.safetensors").stat().st_size > 0, out
