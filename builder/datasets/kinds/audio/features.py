"""Audio clips -> log-mel spectrograms, exactly as a dataset's preprocessing document says.

Ingestion, the predict endpoint and the code bundle's predict.py all call these functions
(the bundle ships this file as audiofeatures.py), so a clip becomes the same model input
everywhere. It imports only numpy, scipy, soundfile and the standard library: the web
process computes prediction inputs with it and must stay light.

The mel filterbank is not computed here: ingestion asks librosa for it once and writes it
into the document (builder/datasets/kinds/audio/filterbank.py), so neither the web process
nor the bundle loads librosa, whose import brings numba and an LLVM compiler (over a second
per process, and a first-run compile of its spectrogram path that took 19 s on two cores).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import soundfile
from scipy.signal import ShortTimeFFT, get_window, resample_poly

# Formats are recognised by their first bytes, never by the file name.
AUDIO_FORMATS = ("WAV", "FLAC", "OGG")
# resample_poly's filter grows with the up/down factors; an odd source rate (44101 Hz) is
# resampled through the nearest ratio with factors up to this (a pitch change far below 0.1%).
_MAX_RESAMPLE_FACTOR = 1000
# What a clip's header may claim: beyond these it is refused rather than decoded (a thousand
# channels of a second would take 200 MB; an absurd rate has no sensible resampling ratio).
MAX_CHANNELS = 32
SOURCE_RATES = (1_000, 768_000)
# Power below this counts as silence; dB values are relative to the clip's loudest cell.
_AMIN = 1e-10


class ClipError(ValueError):
    """A clip that cannot be turned into a model input; the message says why."""


def sniff_audio_format(head: bytes) -> str | None:
    """The audio format named by a file's first bytes, if it is one we accept."""
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE" or head[:4] in (b"RF64", b"BW64"):
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "OGG"
    return None


@dataclass(frozen=True)
class Clip:
    """A decoded clip: mono float32 samples at the file's own rate, and what its header said."""

    samples: np.ndarray
    rate: int
    channels: int
    seconds: float  # the whole file's length (only the first part may have been read)
    format: str


def decode(data: bytes, max_seconds: float) -> Clip:
    """Decode at most the first max_seconds of a WAV, FLAC or OGG file, mixed down to mono.

    Reading only what is kept bounds the work and memory for any file, however long its
    header says it is (a tiny FLAC of silence can decode to hours).
    """
    fmt = sniff_audio_format(data[:16])
    if fmt is None:
        raise ClipError("not a WAV, FLAC or OGG audio file")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as handle:
            rate, channels, frames = int(handle.samplerate), int(handle.channels), int(handle.frames)
            if not SOURCE_RATES[0] <= rate <= SOURCE_RATES[1]:
                raise ClipError(
                    f"the file's sample rate is {rate:,} Hz; only {SOURCE_RATES[0]:,} to {SOURCE_RATES[1]:,} Hz are read"
                )
            if not 1 <= channels <= MAX_CHANNELS:
                raise ClipError(f"the file has {channels:,} channels; at most {MAX_CHANNELS} are read")
            wanted = min(frames, math.ceil(max_seconds * rate)) if frames > 0 else math.ceil(max_seconds * rate)
            samples = handle.read(wanted, dtype="float32", always_2d=True)
    except ClipError:
        raise
    # soundfile.LibsndfileError is a RuntimeError.
    except (RuntimeError, ValueError, TypeError, EOFError, OSError) as exc:
        raise ClipError(f"the {fmt} file could not be decoded ({_short(exc)})") from None
    if samples.shape[0] == 0:
        raise ClipError(f"the {fmt} file has no audio samples")
    if not np.isfinite(samples).all():
        raise ClipError(f"the {fmt} file has samples that are not finite numbers")
    mono = samples[:, 0] if channels == 1 else samples.mean(axis=1, dtype=np.float32)
    return Clip(mono, rate, channels, (frames if frames > 0 else samples.shape[0]) / rate, fmt)


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else "unreadable data"


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) from source_rate to target_rate."""
    if source_rate == target_rate:
        return samples
    ratio = Fraction(target_rate, source_rate).limit_denominator(_MAX_RESAMPLE_FACTOR)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32, copy=False)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """The first `length` samples, with silence added at the end of a shorter clip."""
    if samples.shape[0] >= length:
        return samples[:length]
    return np.pad(samples, (0, length - samples.shape[0]))


def mel_matrix(audio_doc: Mapping[str, Any]) -> np.ndarray:
    """The document's mel filterbank as a dense (n_mels, n_fft // 2 + 1) float32 matrix.

    The document keeps each filter as its first nonzero frequency bin and its weights
    (a triangle touches a few bins, so the dense matrix would be mostly zeros).
    """
    bins = int(audio_doc["n_fft"]) // 2 + 1
    rows = audio_doc["mel_filters"]
    matrix = np.zeros((len(rows), bins), dtype=np.float32)
    for band, row in enumerate(rows):
        start = int(row["start"])
        weights = np.asarray(row["weights"], dtype=np.float32)
        matrix[band, start : start + weights.shape[0]] = weights
    return matrix


class LogMel:
    """Samples at the document's rate and length -> (n_mels, frames) log-mel values in [0, 1].

    Frame t is centred on sample t * hop (the signal is taken as silent outside the clip).
    Power is turned into decibels relative to the clip's loudest cell, floored at -top_db,
    then mapped to [0, 1]: the loudness of a recording does not change its input. A silent
    clip is all zeros.
    """

    def __init__(self, audio_doc: Mapping[str, Any]) -> None:
        self.length = int(audio_doc["clip_samples"])
        self.hop = int(audio_doc["hop_length"])
        self.frames = self.length // self.hop + 1
        self.top_db = float(audio_doc["top_db"])
        window = get_window(str(audio_doc["window"]), int(audio_doc["win_length"])).astype(np.float32)
        self.stft = ShortTimeFFT(window, self.hop, fs=float(audio_doc["sample_rate"]), mfft=int(audio_doc["n_fft"]))
        self.filters = mel_matrix(audio_doc)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """float32 (n, clip_samples) -> float32 (n, n_mels, frames)."""
        power = self.stft.spectrogram(batch, p0=0, p1=self.frames, axis=-1).astype(np.float32, copy=False)
        mel = np.matmul(self.filters, power)
        peak = mel.max(axis=(1, 2), keepdims=True)
        db = 10.0 * np.log10(np.maximum(mel, _AMIN) / np.maximum(peak, _AMIN))
        scaled = (np.maximum(db, -self.top_db) + self.top_db) / self.top_db
        scaled[(peak <= _AMIN).reshape(-1)] = 0.0
        return scaled.astype(np.float32, copy=False)


class Featurizer:
    """Bytes of audio files -> the model's input batch (n, n_mels, frames, 1), float32."""

    def __init__(self, audio_doc: Mapping[str, Any]) -> None:
        self.rate = int(audio_doc["sample_rate"])
        self.seconds = float(audio_doc["clip_samples"]) / self.rate
        self.log_mel = LogMel(audio_doc)

    def samples(self, clip: Clip) -> np.ndarray:
        """A decoded clip at the document's rate, cut or padded to its length."""
        return fit_length(resample(clip.samples, clip.rate, self.rate), self.log_mel.length)

    def decode(self, data: bytes) -> Clip:
        # A little more than the clip is read so the resampler's edge lies past the cut.
        return decode(data, self.seconds + 0.05)

    def features(self, batch: np.ndarray) -> np.ndarray:
        """float32 (n, clip_samples) at the document's rate -> (n, n_mels, frames, 1)."""
        return self.log_mel(np.atleast_2d(batch))[..., np.newaxis]

    def __call__(self, clips: Sequence[bytes]) -> np.ndarray:
        if not clips:
            return np.zeros((0, len(self.log_mel.filters), self.log_mel.frames, 1), dtype=np.float32)
        batch = []
        for number, data in enumerate(clips, start=1):
            try:
                batch.append(self.samples(self.decode(data)))
            except ClipError as exc:
                raise ClipError(f"audio file {number} of {len(clips)}: {exc}" if len(clips) > 1 else str(exc)) from None
        return self.features(np.stack(batch))


def encode_clips(clips: Sequence[bytes], audio_doc: Mapping[str, Any]) -> np.ndarray:
    """Bytes of WAV, FLAC or OGG files -> float32 (n, n_mels, frames, 1). Raises ClipError."""
    return Featurizer(audio_doc)(clips)
