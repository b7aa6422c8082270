"""Audio in a real browser: a zip of spoken words uploaded from the form becomes (through a
real worker) a dataset whose page plays each sample clip and shows its spectrogram; the
predict page sends a test clip of the dataset, or a file the person chooses, and shows what
the API answers for it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from builder.datasets.kinds.audio import filterbank
from builder.models import Dataset
from serving.sessions import CACHE
from tests.api.conftest import token_client
from tests.e2e.checks import check_page
from tests.e2e.test_predict_page import percents, predict, table_numbers
from tests.serving.helpers import b64, onnx_job, with_upload
from tests.support.spoken_words import spoken_words, spoken_words_zip, zip_clips

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]

# Each sample's player has loaded its clip: 1 s (the default clip length) of a decodable WAV.
CLIPS_PLAYABLE = """() => {
  const players = [...document.querySelectorAll('.clips audio')];
  for (const audio of players) if (audio.readyState === 0 && !audio.dataset.asked) { audio.dataset.asked = '1'; audio.load(); }
  return players.length > 0 && players.every(a => a.readyState >= 1 && Math.abs(a.duration - 1) < 0.01);
}"""


def test_an_audio_zip_uploads_from_the_form_and_its_page_plays_the_samples(
    page: Any, sign_in: Any, alice: Any, celery_worker: Any, tmp_path: Path
) -> None:
    page.set_default_timeout(60_000)
    archive = tmp_path / "spoken words.zip"
    archive.write_bytes(spoken_words_zip())
    sign_in(alice)
    page.goto("/datasets/upload/")
    page.get_by_label("Audio (zip of class folders)").check()
    assert page.get_by_label("Mel bands").is_visible() and page.get_by_label("Column to predict").is_hidden()
    assert page.get_by_label("File").get_attribute("accept") == ".zip,application/zip"
    page.get_by_label("Mel bands").fill("32")  # sent as the n_mels option, a number
    page.get_by_label("File").set_input_files(str(archive))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset = Dataset.objects.get(owner=alice)
    assert dataset.kind == "audio" and dataset.options["n_mels"] == 32 and dataset.options["sample_rate"] == 16_000
    page.locator(".badge-ready").first.wait_for()  # the page follows ingestion by itself
    page.locator(".clips").wait_for()
    dataset.refresh_from_db()
    assert dataset.input_shape == [32, 101, 1]

    assert page.locator(".facts", has_text="Clips").count() == 1
    images, players = page.locator(".clips img"), page.locator(".clips audio")
    assert images.count() == players.count() == 8 * 4  # four training clips of each word
    page.wait_for_function(
        "() => [...document.querySelectorAll('.clips img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.wait_for_function(CLIPS_PLAYABLE)
    first = players.first.get_attribute("src")
    assert first == f"/datasets/{dataset.pk}/thumbs/0-0.wav"
    assert page.request.get(first).headers["content-type"] == "audio/wav"
    assert players.first.get_attribute("aria-label") == f"Play a clip of class {dataset.class_names[0]}"
    check_page(page, "dataset-audio")


def test_the_predict_page_sends_a_test_clip_or_an_uploaded_file(
    page: Any, sign_in: Any, alice: Any, browser_problems: Any, tmp_path: Path
) -> None:
    CACHE.clear()  # ids repeat between tests' databases; the live server shares this process's cache
    words = ["go", "yes"]
    doc = {"format": 1, "kind": "audio", "task": "classification", "class_names": words,
           "audio": filterbank.audio_document(16_000, 0.5, 16), "input_shape": [16, 51, 1]}  # fmt: skip
    job = onnx_job(alice, doc)
    clips = spoken_words()
    example = clips["yes/en-gb-m3-130-35.wav"]
    (job.dataset_dir / "samples.json").write_text(json.dumps({"names": {"0": "yes/a.wav"}}))
    with_upload(job, "upload.zip", zip_clips({"yes/a.wav": example}), [0])
    api = token_client(alice)
    sign_in(alice)
    page.goto(f"/jobs/{job.pk}/predict/")
    assert page.get_by_role("heading", name="An audio clip").is_visible()
    predict(page)  # no file chosen: the test clip is sent
    served = api.post(f"/api/jobs/{job.pk}/predict/", {"clip": b64(example)}, format="json").json()
    assert table_numbers(page) == percents(served)

    chosen = tmp_path / "go.wav"
    chosen.write_bytes(clips["go/en-us-f2-170-65.wav"])
    page.get_by_label("Audio file (WAV, FLAC or OGG)").set_input_files(str(chosen))
    predict(page)
    with chosen.open("rb") as handle:
        served = api.post(f"/api/jobs/{job.pk}/predict/", {"clip": handle}, format="multipart").json()
    assert table_numbers(page) == percents(served)
    assert page.locator("#answer-line .predicted").inner_text() == served["predictions"][0]["label"]
    check_page(page, "predict-audio")

    browser_problems.allow(400, rf"/api/jobs/{job.pk}/predict/$")
    fake = tmp_path / "notes.wav"
    fake.write_text("not a sound")
    page.get_by_label("Audio file (WAV, FLAC or OGG)").set_input_files(str(fake))
    predict(page)
    assert "not a WAV, FLAC or OGG audio file" in page.locator("#file-input-errors").inner_text()
