"""The audio part of a preprocessing document: frame sizes and the mel filterbank.

librosa computes the filterbank (Slaney's mel scale, area-normalised triangles) once, at
ingestion, in the worker; the document then carries it, so features.py needs no librosa.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

WINDOW = "hann"
WINDOW_SECONDS = 0.025  # 25 ms analysis windows ...
HOP_SECONDS = 0.010  # ... every 10 ms: the usual framing for speech
TOP_DB = 80.0


class EmptyFilters(ValueError):
    """More mel bands than the frequency bins can fill at this sample rate."""


def frame_sizes(sample_rate: int, clip_seconds: float) -> dict[str, int]:
    win_length = round(WINDOW_SECONDS * sample_rate)
    return {
        "clip_samples": round(clip_seconds * sample_rate),
        "win_length": win_length,
        "hop_length": round(HOP_SECONDS * sample_rate),
        "n_fft": 1 << math.ceil(math.log2(win_length)),  # the next power of two: a fast FFT
    }


def frames(sample_rate: int, clip_seconds: float) -> int:
    sizes = frame_sizes(sample_rate, clip_seconds)
    return sizes["clip_samples"] // sizes["hop_length"] + 1


def audio_document(sample_rate: int, clip_seconds: float, n_mels: int) -> dict[str, Any]:
    """The document's "audio" section. Raises EmptyFilters when a band would have no bin."""
    import librosa.filters  # deferred: librosa loads numba; only ingestion needs it

    sizes = frame_sizes(sample_rate, clip_seconds)
    matrix = librosa.filters.mel(sr=sample_rate, n_fft=sizes["n_fft"], n_mels=n_mels, dtype=np.float32)
    rows = []
    for band, weights in enumerate(matrix):
        nonzero = np.flatnonzero(weights)
        if nonzero.size == 0:
            raise EmptyFilters(f"mel band {band + 1} of {n_mels} covers no frequency bin")
        start, stop = int(nonzero[0]), int(nonzero[-1]) + 1
        rows.append({"start": start, "weights": [float(w) for w in weights[start:stop]]})
    return {
        "sample_rate": sample_rate,
        "clip_seconds": clip_seconds,
        **sizes,
        "channels": "mean of all channels",
        "resample": "scipy.signal.resample_poly",
        "cut": "keep the start; pad the end with silence",
        "window": WINDOW,
        "spectrogram": "power, frames centred every hop_length samples",
        "mel_scale": "slaney",
        "n_mels": n_mels,
        "mel_filters": rows,
        "scale": "dB relative to the clip's loudest cell, floored at -top_db, mapped to [0, 1]",
        "top_db": TOP_DB,
        "formats": ["WAV", "FLAC", "OGG"],
    }
