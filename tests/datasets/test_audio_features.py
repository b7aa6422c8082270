"""Audio features (builder/datasets/kinds/audio/features.py): what a clip becomes, for any options allowed."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import soundfile

from builder.datasets.kinds.audio import features, filterbank
from builder.datasets.kinds.audio.kind import N_MELS, SAMPLE_RATES


def wav(samples: np.ndarray, rate: int, fmt: str = "WAV") -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format=fmt, subtype="FLOAT" if fmt == "WAV" else None)
    return out.getvalue()


def chirp(seconds: float = 1.0, rate: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * (200 + 1500 * t) * t)).astype(np.float32)


@pytest.mark.parametrize("rate", [SAMPLE_RATES[0], 11_025, 16_000, SAMPLE_RATES[1]])
@pytest.mark.parametrize("n_mels", [N_MELS[0], N_MELS[1]])
def test_every_allowed_rate_and_band_count_gives_bands_that_each_cover_a_bin(rate, n_mels):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # librosa warns of an empty band before we would refuse it
        doc = filterbank.audio_document(rate, 0.1, n_mels)
    matrix = features.mel_matrix(doc)
    assert matrix.shape == (n_mels, doc["n_fft"] // 2 + 1) and (matrix.max(axis=1) > 0).all()


def test_too_many_bands_for_the_rate_are_refused():
    with warnings.catch_warnings(), pytest.raises(filterbank.EmptyFilters, match="covers no frequency bin"):
        warnings.simplefilter("ignore")
        filterbank.audio_document(8_000, 1.0, 256)


def test_loudness_does_not_change_the_input_and_silence_is_zero():
    doc = filterbank.audio_document(16_000, 1.0, 40)
    signal = chirp()
    X = features.encode_clips([wav(signal, 16_000), wav(signal * 0.05, 16_000), wav(signal * 0, 16_000)], doc)
    assert X.shape == (3, 40, 101, 1)
    np.testing.assert_allclose(X[0], X[1], atol=1e-4)
    assert X[0].max() == 1.0 and not X[2].any()


def test_a_clip_at_another_rate_gives_nearly_the_same_input():
    doc = filterbank.audio_document(16_000, 1.0, 40)
    X = features.encode_clips([wav(chirp(rate=16_000), 16_000), wav(chirp(rate=44_100), 44_100)], doc)
    assert np.abs(X[0] - X[1]).mean() < 0.02
    # An odd rate resamples through the nearest ratio with small factors (no huge filter).
    odd = features.resample(chirp(rate=44_101), 44_101, 16_000)
    assert abs(odd.shape[0] - 16_000) <= 1


def test_only_the_kept_part_of_a_long_clip_is_decoded():
    long = wav(np.zeros(16_000 * 600, dtype=np.float32), 16_000, fmt="FLAC")  # ten minutes of silence, small as FLAC
    clip = features.decode(long, max_seconds=1.05)
    assert clip.seconds == 600.0 and clip.samples.shape == (16_800,)


def test_files_that_cannot_be_decoded_say_why():
    with pytest.raises(features.ClipError, match="not a WAV, FLAC or OGG"):
        features.decode(b"ID3\x04mp3 data", 1.0)
    with pytest.raises(features.ClipError, match="OGG file could not be decoded"):
        features.decode(b"OggS" + b"\x00" * 60, 1.0)
    with pytest.raises(features.ClipError, match="not finite"):
        features.decode(wav(np.array([0.0, np.nan, 0.1], dtype=np.float32), 16_000), 1.0)


def test_headers_claiming_absurd_rates_or_channel_counts_are_refused():
    with pytest.raises(features.ClipError, match="sample rate is 500 Hz; only 1,000 to 768,000 Hz"):
        features.decode(wav(np.zeros(100, dtype=np.float32), 500), 1.0)
    many = np.zeros((10, 33), dtype=np.float32)
    with pytest.raises(features.ClipError, match="33 channels; at most 32"):
        features.decode(wav(many, 16_000), 1.0)
