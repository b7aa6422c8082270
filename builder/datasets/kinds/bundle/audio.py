"""kindio.py for audio: the audio kind's file reading in the code bundle.

Shipped as kindio.py next to dataio.py, which calls it; audio_features.py (shipped beside
it) is the very module Layerloom used to turn the training clips into spectrograms, and
needs soundfile and scipy (requirements.txt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import audio_features
import numpy as np
import preprocessing

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga"}


def audio_files(path: Path) -> list[Path]:
    """The file itself, or the audio files in a folder and its sub-folders."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    return [path]


def read_inputs(doc: dict[str, Any], path: Path) -> tuple[list[str], list[Any]]:
    """Audio files (WAV, FLAC or OGG), or folders searched for them."""
    files = audio_files(path)
    return [str(file) for file in files], [file.read_bytes() for file in files]


def read_labelled(doc: dict[str, Any], path: Path) -> tuple[list[Any], list[str], str]:
    """(clip bytes, class names, "class folder"): a folder with one sub-folder per class, named after it."""
    records, labels = [], []
    for name in doc["class_names"]:
        for file in audio_files(path / name) if (path / name).is_dir() else []:
            records.append(file.read_bytes())
            labels.append(name)
    if not records:
        raise SystemExit(f"{path}: no audio files in class folders named {', '.join(doc['class_names'][:5])}, ...")
    return records, labels, "class folder"


def transform(doc: dict[str, Any], records: list[Any]) -> np.ndarray:
    try:
        return audio_features.encode_clips(records, doc["audio"])
    except audio_features.ClipError as exc:
        raise preprocessing.InputError(str(exc)) from None
