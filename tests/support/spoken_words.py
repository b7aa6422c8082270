"""A spoken-word audio set made on the spot: English words said by Debian's espeak-ng.

Eight words (the Speech Commands classics) in ten voices, each at two speeds and pitches:
160 WAV clips of about a second, one folder per word, zipped like a person's upload. The
voices are English accents paired with espeak-ng's voice variants (male, female, croaky,
Klatt), so a class holds clearly different speakers. espeak-ng writes 22,050 Hz mono
16-bit WAV; the ingestion resamples it. Making the whole set takes about two seconds and
happens once per test process (cached).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import soundfile

WORDS = ("yes", "no", "up", "down", "left", "right", "stop", "go")
VOICES = (
    "en-us+m1",
    "en-us+f2",
    "en-gb+m3",
    "en-gb+f4",
    "en-gb-scotland+m4",
    "en-029+f1",
    "en-gb-x-rp+m7",
    "en-gb-x-gbclan+f3",
    "en-gb-x-gbcwmd+croak",
    "en-us+klatt",
)
STYLES = ((130, 35), (170, 65))  # (words per minute, pitch 0-99)


def espeak(word: str, voice: str, speed: int, pitch: int) -> bytes:
    """One word as WAV bytes, said by espeak-ng."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("the audio tests need Debian's espeak-ng: run 'apt-get install espeak-ng'")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "word.wav"
        subprocess.run(
            [binary, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), word],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return out.read_bytes()


@cache
def spoken_words(
    words: tuple[str, ...] = WORDS, voices: tuple[str, ...] = VOICES, styles: tuple[tuple[int, int], ...] = STYLES
) -> dict[str, bytes]:
    """{"word/voice-speed-pitch.wav": WAV bytes} for every word, voice and style."""
    clips: dict[str, bytes] = {}
    for word in words:
        for voice in voices:
            for speed, pitch in styles:
                clips[f"{word}/{voice.replace('+', '-')}-{speed}-{pitch}.wav"] = espeak(word, voice, speed, pitch)
    return clips


def as_recorded(wav: bytes, rng: np.random.Generator) -> bytes:
    """The clip as a take a person might record: starting up to 0.3 s late, at 30-100% of the
    level, over a faint hiss (16-bit WAV at the same rate)."""
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    lead = np.zeros(int(rng.uniform(0, 0.3) * rate), dtype=np.float32)
    take = np.concatenate([lead, samples]) * np.float32(rng.uniform(0.3, 1.0))
    take += rng.normal(0, 0.003, take.shape).astype(np.float32)
    out = io.BytesIO()
    soundfile.write(out, np.clip(take, -1, 1), rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def recorded_takes(clips: dict[str, bytes], takes: int, seed: int = 0) -> dict[str, bytes]:
    """Each clip as `takes` different recordings ("word/voice-take1.wav", ...)."""
    rng = np.random.default_rng(seed)
    return {
        name.replace(".wav", f"-take{take}.wav"): as_recorded(data, rng)
        for name, data in clips.items()
        for take in range(1, takes + 1)
    }


def zip_clips(clips: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in clips.items():
            archive.writestr(name, data)
    return buf.getvalue()


@cache
def spoken_words_zip() -> bytes:
    """The whole set (8 words x 10 voices x 2 styles = 160 clips) as an upload's zip bytes."""
    return zip_clips(spoken_words())


if __name__ == "__main__":  # python -m tests.support.spoken_words > words.zip
    import sys

    sys.stdout.buffer.write(spoken_words_zip())
