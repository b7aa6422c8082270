"""Audio zips: spoken words and tones in class folders, every format and rate, and broken files."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from builder.datasets.arrays import load_ids, load_split
from builder.datasets.errors import DatasetError, OptionsError
from builder.datasets.kinds import get_kind, transform_records
from builder.datasets.kinds.audio import filterbank
from builder.datasets.kinds.audio.ingest import SCRATCH
from builder.datasets.limits import Limits
from builder.datasets.materialise import materialise
from builder.datasets.options import validate_options
from builder.datasets.preprocessing import InputError
from tests.datasets.factories import write
from tests.support.spoken_words import WORDS, spoken_words, spoken_words_zip, zip_clips

ROOT = Path(__file__).resolve().parents[2]


def ingest(tmp_path, data: bytes, limits: Limits | None = None, **options):
    source = write(tmp_path / "upload.zip", data)
    return materialise("audio", source, validate_options("audio", options), tmp_path / "v1", limits or Limits())


def fails(tmp_path, data: bytes, match: str, limits: Limits | None = None, **options) -> str:
    with pytest.raises(DatasetError, match=match) as caught:
        ingest(tmp_path, data, limits, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.zip"]  # no build folder, no scratch file
    return str(caught.value)


def tone(freq: float, seconds: float = 0.5, rate: int = 16_000, channels: int = 1, fmt: str = "WAV") -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    out = io.BytesIO()
    soundfile.write(out, data, rate, format=fmt)
    return out.getvalue()


def tones(per_class: int = 3, **kwargs) -> dict[str, bytes]:
    return {
        f"{name}/{i}.wav": tone(freq + 20 * i, **kwargs)
        for name, freq in (("low", 300), ("high", 2000))
        for i in range(per_class)
    }


def test_spoken_words_become_spectrograms_of_one_shape_with_samples_for_the_page(tmp_path):
    result = ingest(tmp_path, spoken_words_zip())
    assert result.class_names == sorted(WORDS)
    assert result.input_shape == [40, 101, 1]  # 40 mel bands x (1 s / 10 ms + 1) frames
    profile = result.profile
    assert profile["clips"] == 160 and {c["count"] for c in profile["classes"]} == {20}
    assert profile["sample_rates"] == {"22050": 160} and profile["formats"] == {"WAV": 160}
    assert profile["splits"] == {"train": 96, "val": 32, "test": 32}  # small data: 60/20/20
    assert profile["cut"] + profile["padded"] <= 160 and any("padded with silence" in n for n in profile["notes"])
    X, y = load_split(tmp_path / "v1", "train")
    assert X.shape == (96, 40, 101, 1) and X.dtype == np.float32 and 0.0 <= X.min() and X.max() == 1.0
    assert sorted(np.bincount(y).tolist()) == [12] * 8
    folder = tmp_path / "v1"
    assert not (folder / SCRATCH).exists()
    thumbs = profile["thumbnails"]
    assert len(thumbs) == 8 * Limits().thumbs_per_class
    kind = get_kind("audio")
    for thumb in thumbs:
        audio = kind.sample_media(folder, thumb["audio"])
        image = kind.sample_media(folder, thumb["image"])
        assert audio and audio.content_type == "audio/wav" and image and image.content_type == "image/png"
        info = soundfile.info(audio.path)
        assert (info.samplerate, info.channels, info.frames) == (16_000, 1, 16_000)  # as the model hears it
        assert Image.open(image.path).size == (202, 80)
    assert kind.sample_media(folder, "../preprocessing.json") is None
    assert kind.sample_media(folder, "0-0.mp3") is None


def test_the_arrays_equal_the_predict_transform_of_each_file(tmp_path):
    data = spoken_words_zip()
    ingest(tmp_path, data)
    doc = json.loads((tmp_path / "v1" / "preprocessing.json").read_text())
    names = json.loads((tmp_path / "v1" / "samples.json").read_text())["names"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for split in ("train", "test"):
            X, _ = load_split(tmp_path / "v1", split)
            clips = [archive.read(names[str(i)]) for i in load_ids(tmp_path / "v1", split)]
            assert np.array_equal(transform_records(doc, clips), X)


def test_flac_ogg_stereo_and_other_rates_are_read_and_resampled(tmp_path):
    clips = {
        "low/a.flac": tone(300, fmt="FLAC"),
        "low/b.ogg": tone(320, fmt="OGG", rate=44_100),
        "low/c.wav": tone(310, rate=48_000, channels=2),
        "high/a.wav": tone(2000, rate=8_000),
        "high/b.flac": tone(2100, rate=22_050, channels=2, fmt="FLAC"),
        "high/c.ogg": tone(2050, fmt="OGG", seconds=2.5),
    }
    result = ingest(tmp_path, zip_clips(clips), clip_seconds=0.5, n_mels=32)
    assert result.input_shape == [32, 51, 1]
    profile = result.profile
    assert profile["formats"] == {"FLAC": 2, "OGG": 2, "WAV": 2}
    assert profile["channels"] == {"1": 4, "2": 2} and set(profile["sample_rates"]) == {
        "8000",
        "16000",
        "22050",
        "44100",
        "48000",
    }
    assert profile["cut"] == 1 and any("cut to their first 0.5 s" in n for n in profile["notes"])
    X = np.concatenate([load_split(tmp_path / "v1", s)[0] for s in ("train", "val", "test")])
    y = np.concatenate([load_split(tmp_path / "v1", s)[1] for s in ("train", "val", "test")])
    # A tone's energy sits in the mel bands of its pitch: the low class peaks lower than the high one.
    peaks = X[..., 0].mean(axis=2).argmax(axis=1)
    assert peaks[y == result.class_names.index("low")].max() < peaks[y == result.class_names.index("high")].min()


def test_files_that_are_not_audio_or_are_broken_are_skipped_and_counted(tmp_path):
    clips = tones(per_class=10)
    clips["low/notes.txt"] = b"not a sound"
    clips["high/broken.wav"] = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 8  # a header cut short
    clips["stray.wav"] = tone(500)
    profile = ingest(tmp_path, zip_clips(clips)).profile
    assert profile["clips"] == 20
    skipped = profile["skipped"]
    assert skipped["not_audio"] == {"count": 1, "examples": ["low/notes.txt"]}
    assert (
        skipped["corrupt"]["count"] == 1 and "WAV file could not be decoded" in skipped["corrupt"]["examples"][0]["why"]
    )
    assert skipped["outside_class_folders"]["count"] == 1
    assert len(profile["notes"]) >= 3


def test_a_zip_of_mostly_broken_clips_is_refused_naming_some(tmp_path):
    clips = tones(per_class=2)
    clips.update({f"low/bad{i}.flac": b"fLaC" + b"\x00" * 40 for i in range(3)})
    message = fails(tmp_path, zip_clips(clips), "3 of 7 clips could not be read")
    assert "low/bad0.flac" in message and "FLAC file could not be decoded" in message


def test_a_zip_without_clips_or_classes_gets_a_clear_message(tmp_path):
    fails(tmp_path, zip_clips({"a/readme.txt": b"hello"}), "no readable audio clips.*not audio")
    fails(tmp_path, zip_clips({"one.wav": tone(300), "two.wav": tone(400)}), "not inside a class folder")
    fails(tmp_path, zip_clips({"only/1.wav": tone(300), "only/2.wav": tone(310)}), "one class folder")
    fails(
        tmp_path, zip_clips({"a/1.wav": tone(300), "a/2.wav": tone(320), "b/1.wav": tone(900)}), "'b' has only 1 clip;"
    )
    fails(tmp_path, b"not a zip", "not a readable zip")


def test_the_zip_safety_caps_hold_for_audio(tmp_path):
    fails(tmp_path, spoken_words_zip(), "decompresses to more than", Limits(max_zip_total_bytes=100_000))
    fails(tmp_path, zip_clips({"../a/1.wav": tone(300)}), "contains '..'")


def test_the_arrays_room_is_checked_before_writing(tmp_path):
    fails(tmp_path, zip_clips(tones()), "arrays would take", Limits(max_array_bytes=10_000), clip_seconds=10.0)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"sample_rate": 4000}, "sample_rate"),
        ({"sample_rate": 16000.5}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"clip_seconds": 0}, "clip_seconds"),
        ({"clip_seconds": 11}, "clip_seconds"),
        ({"clip_seconds": "1"}, "clip_seconds"),
        ({"n_mels": 4}, "n_mels"),
        ({"n_mels": 256}, "n_mels"),
        ({"image_size": [8, 8]}, "image_size"),
    ],
)
def test_bad_options_are_refused_by_field(options, field):
    with pytest.raises(OptionsError) as caught:
        validate_options("audio", options)
    assert set(caught.value.errors) == {field}


def test_options_are_filled_and_normalised():
    options = validate_options("audio", {"clip_seconds": 2, "n_mels": 64})
    assert options["clip_seconds"] == 2.0 and isinstance(options["clip_seconds"], float)
    assert (options["sample_rate"], options["n_mels"]) == (16_000, 64)


def test_predict_inputs_that_are_not_clips_get_a_message(tmp_path):
    ingest(tmp_path, zip_clips(tones()))
    doc = json.loads((tmp_path / "v1" / "preprocessing.json").read_text())
    with pytest.raises(InputError, match="not a WAV, FLAC or OGG"):
        transform_records(doc, [b"\x89PNG\r\n\x1a\n"])
    with pytest.raises(InputError, match="audio file 2 of 2: the WAV file could not be decoded"):
        transform_records(doc, [tone(300), b"RIFF\x00\x00\x00\x00WAVE"])
    with pytest.raises(InputError, match="bytes of a WAV"):
        transform_records(doc, ["a string"])
    assert transform_records(doc, [spoken_words()["yes/en-us-m1-130-35.wav"]]).shape == (1, 40, 101, 1)


@pytest.mark.django_db
def test_an_upload_that_is_not_a_zip_or_has_bad_options_is_refused_leaving_nothing(alice, data_root, enqueued):
    from tests.datasets.test_upload import refused

    errors = refused(alice, data_root, tone(300), name="clip.wav", kind="audio")
    assert set(errors) == {"file"} and "not a zip archive" in errors["file"]
    errors = refused(alice, data_root, zip_clips(tones()), name="a.zip", kind="audio", n_mels=500, clip_seconds=-1)
    assert set(errors) == {"n_mels", "clip_seconds"}
    assert enqueued == []


def test_job_page_examples_are_the_test_clips_spectrograms(tmp_path):
    ingest(tmp_path, zip_clips(tones()))
    X, _ = load_split(tmp_path / "v1", "train")
    examples = [{"index": 0, "id": 5}, {"index": 1, "id": 7}]
    get_kind("audio").describe_examples(examples, None, lambda: X)
    for example in examples:
        assert example["image"].startswith("data:image/png;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(example["image"].split(",", 1)[1])))
        assert picture.size == (202, 80)  # frames across, bands up, doubled


def test_the_web_side_of_audio_loads_neither_librosa_nor_numba():
    """Checking options, parsing and transforming a clip (what the web process does) stays light."""
    code = (
        "import sys, io, json, numpy as np, soundfile\n"
        "from builder.datasets.kinds import get_kind\n"
        "from builder.datasets.options import validate_options\n"
        "validate_options('audio', {})\n"
        "doc = {'audio': json.loads(sys.argv[1])}\n"
        "out = io.BytesIO(); soundfile.write(out, np.zeros(800, dtype=np.float32), 8000, format='WAV')\n"
        "get_kind('audio').transform(doc, [out.getvalue()])\n"
        "heavy = sorted(m for m in ('librosa', 'numba', 'tensorflow', 'torch') if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    audio = json.dumps(filterbank.audio_document(16_000, 1.0, 40))
    result = subprocess.run([sys.executable, "-c", code, audio], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"


@pytest.mark.django_db
def test_the_builder_offers_the_audio_preset_first_and_creates_it(alice, data_root):
    from builder.models import Dataset
    from tests.api.conftest import token_client

    ds = Dataset.objects.create(owner=alice, name="tones", kind="audio", status="processing", sha256="0" * 64)
    source = write(data_root / "tones.zip", zip_clips(tones()))
    result = materialise("audio", source, validate_options("audio", {"n_mels": 32}), ds.version_dir, Limits())
    ds.status, ds.task, ds.input_shape = "ready", result.task, result.input_shape
    ds.class_names, ds.num_classes, ds.profile = result.class_names, result.num_classes, result.profile
    ds.save()
    api = token_client(alice)
    listed = api.get(f"/api/presets/?dataset={ds.pk}").json()
    assert [p["key"] for p in listed][:2] == ["audio_cnn", "mlp"] and "text_lstm" not in [p["key"] for p in listed]
    assert "32 mel bands x 101 frames → 2 classes" in listed[0]["description"]
    created = api.post("/api/architectures/", {"preset": "audio_cnn", "dataset": ds.pk}, format="json")
    assert created.status_code == 201, created.json()
    spec = created.json()["spec"]
    assert spec["input"]["shape"] == [32, 101, 1] and spec["layers"][-1]["params"]["units"] == 1  # two classes
