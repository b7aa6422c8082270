"""Audio in a real browser with a real worker: a zip of spoken words uploaded from the form
becomes a dataset whose page plays each sample clip and shows its spectrogram."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from builder.models import Dataset
from tests.e2e.checks import check_page
from tests.support.spoken_words import spoken_words_zip

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
    page.get_by_label("File").set_input_files(str(archive))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    dataset = Dataset.objects.get(owner=alice)
    assert dataset.kind == "audio"
    page.locator(".badge-ready").first.wait_for()  # the page follows ingestion by itself
    page.locator(".clips").wait_for()
    dataset.refresh_from_db()

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
