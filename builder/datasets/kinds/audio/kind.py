"""The audio kind: a zip with one folder of clips per class -> log-mel spectrograms."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from builder.datasets import preprocessing
from builder.datasets.kinds.audio import features
from builder.datasets.kinds.audio.ingest import ingest_audio, spectrogram_image
from builder.datasets.kinds.audio.preset import NAME as PRESET_NAME
from builder.datasets.kinds.audio.preset import audio_cnn
from builder.datasets.kinds.base import (
    DatasetKind,
    Example,
    PredictFields,
    PresetFacts,
    SampleMedia,
    bundle_source,
    whole_number,
)
from builder.datasets.kinds.images import check_class_zip, class_of, decode_files, png_data_url, read_class_member
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult

SAMPLE_RATES = (8_000, 48_000)
CLIP_SECONDS = (0.1, 10.0)
N_MELS = (8, 128)  # from 8 kHz up, 128 bands each still cover a frequency bin (tests/datasets/test_audio_features.py)
# A larger example clip is not worth putting in the predict page; the file input still takes it.
MAX_EXAMPLE_CLIP_BYTES = 512 * 1024
# Files ingestion wrote for the dataset page, under our own names: "<class index>-<n>.wav|png".
SAMPLE_NAME = re.compile(r"\d{1,4}-\d{1,4}\.(wav|png)")
MEDIA_TYPES = {"wav": "audio/wav", "png": "image/png"}


class AudioKind(DatasetKind):
    name = "audio"
    label = "Audio (zip of class folders)"
    description = "A .zip with one folder of clips per class (yes/1.wav, no/2.flac); WAV, FLAC or OGG."
    upload_accept = (".zip", "application/zip")
    source_name = "upload.zip"
    option_defaults: ClassVar[Mapping[str, Any]] = {
        "sample_rate": 16_000,  # Hz every clip is resampled to
        "clip_seconds": 1.0,  # every clip is cut or padded to this length
        "n_mels": 40,  # mel bands of the spectrogram
    }
    options_template = "builder/kinds/audio_options.html"
    preset_noun = "spectrograms"
    baseline_inputs_label = "the standardised log-mel features"
    samples_label = "Clips"
    sample_template = "builder/kinds/audio_samples.html"
    example_unit = "file"
    predict_fields = PredictFields("clips", "clip", "audio file")
    accepts_files = True
    predict_doc = "Audio: `clips` (or `clip`), WAV, FLAC or OGG files, base64 in JSON or files in a multipart body."
    predict_title = "An audio clip"
    predict_template = "serving/kinds/audio_input.html"
    predict_widget = "file"
    bundle_commands = ("python predict.py clip.wav more_clips/", "python train.py clips/   # clips/<class>/*.wav")
    bundle_requirements = ("soundfile", "scipy")
    bundle_imports = frozenset({"audio_features", "soundfile", "scipy.signal", "io", "fractions", "dataclasses"})

    # --- upload ----------------------------------------------------------------------------
    def check_options(self, options: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        rate, seconds, mels = options["sample_rate"], options["clip_seconds"], options["n_mels"]
        if not whole_number(rate) or not SAMPLE_RATES[0] <= rate <= SAMPLE_RATES[1]:
            errors["sample_rate"] = (
                f"The sample rate must be a whole number of Hz from {SAMPLE_RATES[0]:,} to {SAMPLE_RATES[1]:,}, "
                "e.g. 16000."
            )
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or not CLIP_SECONDS[0] <= seconds <= CLIP_SECONDS[1]
        ):
            errors["clip_seconds"] = (
                f"The clip length must be a number of seconds from {CLIP_SECONDS[0]:g} to {CLIP_SECONDS[1]:g}, e.g. 1."
            )
        else:
            options["clip_seconds"] = float(seconds)
        if not whole_number(mels) or not N_MELS[0] <= mels <= N_MELS[1]:
            errors["n_mels"] = f"The number of mel bands must be a whole number from {N_MELS[0]} to {N_MELS[1]}."
        return errors

    def check_upload(self, path: Path, options: dict[str, Any], limits: Limits) -> None:
        check_class_zip(path, limits)

    def ingest(self, source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
        return ingest_audio(source, options, out_dir, limits)

    def transform(self, doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
        if any(not isinstance(r, bytes | bytearray) for r in records):
            raise preprocessing.InputError("each clip must be given as the bytes of a WAV, FLAC or OGG file")
        try:
            return features.encode_clips([bytes(r) for r in records], doc["audio"])
        except features.ClipError as exc:
            raise preprocessing.InputError(str(exc)) from None

    # --- presets ---------------------------------------------------------------------------
    def fit_presets(self, facts: PresetFacts) -> dict[str, dict[str, Any]]:
        """The audio preset first (the default), then the presets for any grid of numbers."""
        return {PRESET_NAME: self.fit_preset(PRESET_NAME, facts), **super().fit_presets(facts)}

    def fit_preset(self, name: str, facts: PresetFacts) -> dict[str, Any]:
        if name == PRESET_NAME:
            return audio_cnn(facts.input_shape, facts.task, facts.n_outputs)
        return super().fit_preset(name, facts)

    # --- the dataset page ------------------------------------------------------------------
    def sample_count(self, profile: Mapping[str, Any]) -> int | None:
        return profile.get("clips")

    def page_context(self, dataset: Any, source: Path | None) -> dict[str, Any]:
        return {"clips": (dataset.profile or {}).get("thumbnails") or []}

    def sample_media(self, version_dir: Path, name: str) -> SampleMedia | None:
        match = SAMPLE_NAME.fullmatch(name)
        if match is None:
            return None
        return SampleMedia(version_dir / "thumbs" / name, MEDIA_TYPES[match.group(1)])

    # --- examples --------------------------------------------------------------------------
    def read_example(self, doc: Mapping[str, Any], source: Path, version_dir: Path, index: int) -> Example | None:
        """The clip by the zip member index ingestion recorded (samples.json), never by a name a user gave."""
        member = read_class_member(source, version_dir, index, MAX_EXAMPLE_CLIP_BYTES)
        if member is None:
            return None
        data, name = member
        return Example(data, class_of(name, doc))

    def describe_examples(
        self, examples: list[dict[str, Any]], source: Path | None, test_inputs: Callable[[], Any]
    ) -> None:
        """Each example's spectrogram, drawn from the test split's own arrays."""
        X = test_inputs()
        for example in examples:
            example["image"] = png_data_url(spectrogram_image(np.asarray(X[example["index"]])))

    # --- prediction ------------------------------------------------------------------------
    def parse_inputs(self, model: Any, field_name: str, values: list[Any], single: bool) -> list[Any]:
        return decode_files(values, field_name, single, "audio file")

    def predict_context(self, doc: Mapping[str, Any], example: Example | None) -> dict[str, Any]:
        value = example.value if example else None
        fmt = features.sniff_audio_format(value[:16]) if isinstance(value, bytes) else None
        url = f"data:{_AUDIO_TYPES[fmt]};base64,{base64.b64encode(value).decode()}" if fmt and value else ""
        audio = doc.get("audio") or {}
        return {
            "has_example": bool(url),
            "example_url": url,
            "clip_seconds": audio.get("clip_seconds"),
            "sample_rate": audio.get("sample_rate"),
        }

    # --- the code bundle -------------------------------------------------------------------
    def bundle_modules(self) -> dict[str, str]:
        return {
            "kindio.py": bundle_source("audio.py"),
            "audio_features.py": Path(features.__file__).read_text(encoding="utf-8"),
        }


_AUDIO_TYPES = {"WAV": "audio/wav", "FLAC": "audio/flac", "OGG": "audio/ogg"}
