"""Audio: a zip of class folders of clips -> float32 log-mel spectrograms of one shape.

Each clip is read from the zip and decoded once: resampled, cut or padded, and turned into
its spectrogram by features.py (what the predict endpoint and the bundle run), in batches,
into a scratch array. Only then are the classes known and checked, the splits assigned and
the arrays written from the scratch array, which is deleted. The dataset page gets, per
class, a few training clips as the model hears them (WAV) and their spectrograms (PNG).
"""

from __future__ import annotations

import statistics
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from builder.datasets import preprocessing
from builder.datasets.archive import ByteBudget, Member, iter_member_bytes, list_members, open_archive
from builder.datasets.arrays import SPLITS, SplitWriters
from builder.datasets.capacity import arrays_bytes, check_room
from builder.datasets.errors import DatasetError
from builder.datasets.images import _labelled as class_folder_members
from builder.datasets.images import _natural as natural_order
from builder.datasets.kinds.audio import features, filterbank
from builder.datasets.kinds.images import to_image
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult, write_json
from builder.datasets.split import TRAIN, assign_splits, split_counts

_BATCH = 64  # clips per spectrogram call: numpy and the FFT work on whole batches
_WRITE_BLOCK_BYTES = 32 * 1024 * 1024
_EXAMPLES = 5
SCRATCH = "features.scratch.npy"


@dataclass
class Good:
    member: Member
    label: str
    rate: int
    channels: int
    seconds: float
    format: str


def ingest_audio(source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # librosa warns of empty bands; we raise below
            audio = filterbank.audio_document(options["sample_rate"], options["clip_seconds"], options["n_mels"])
    except filterbank.EmptyFilters as exc:
        raise DatasetError(f"{exc}: use fewer mel bands (n_mels) or a higher sample_rate.") from None
    featurizer = features.Featurizer(audio)
    shape = (audio["n_mels"], featurizer.log_mel.frames, 1)
    scratch_path = out_dir / SCRATCH
    try:
        with open_archive(source) as archive:
            members = list_members(archive, limits)
            labelled, outside = class_folder_members(members)
            check_room(arrays_bytes(2 * len(labelled), shape, np.float32, np.int64), out_dir, limits,
                       hint="Use a shorter clip_seconds or fewer n_mels, or fewer clips.")  # fmt: skip
            scratch = np.lib.format.open_memmap(
                scratch_path, mode="w+", dtype=np.float32, shape=(len(labelled), *shape)
            )
            good, not_audio, corrupt = _decode_all(archive, labelled, featurizer, scratch, limits)
            _check_counts(good, not_audio, corrupt, outside, limits)
            class_names = sorted({g.label for g in good}, key=natural_order)
            class_index = {name: i for i, name in enumerate(class_names)}
            labels = np.array([class_index[g.label] for g in good], dtype=np.int64)
            class_counts = np.bincount(labels, minlength=len(class_names)).tolist()
            _check_classes(class_names, class_counts, limits)
            split = assign_splits(len(good), options["split"], options["seed"], labels=labels)
            doc: dict[str, Any] = {
                "format": preprocessing.FORMAT,
                "kind": "audio",
                "task": "classification",
                "class_names": class_names,
                "audio": audio,
                "input_shape": list(shape),
            }
            _write_arrays(scratch, good, labels, split, shape, out_dir)
            thumbs = _write_samples(archive, good, labels, split, scratch, featurizer, class_names, out_dir, limits)
            del scratch
    finally:
        scratch_path.unlink(missing_ok=True)
    write_json(out_dir / "preprocessing.json", doc)
    write_json(
        out_dir / "samples.json",
        {"id": "zip member index", "names": {str(g.member.index): g.member.name for g in good}},
    )
    profile = _profile(good, class_names, class_counts, not_audio, corrupt, outside, split, audio, thumbs)
    return IngestResult("classification", doc["input_shape"], class_names, profile, doc)


def _decode_all(
    archive: Any,
    labelled: list[tuple[Member, str]],
    featurizer: features.Featurizer,
    scratch: np.ndarray,
    limits: Limits,
) -> tuple[list[Good], list[str], list[tuple[str, str]]]:
    """Decode every clip once; row i of scratch holds good[i]'s spectrogram."""
    label_of = {m.index: label for m, label in labelled}
    good: list[Good] = []
    not_audio: list[str] = []
    corrupt: list[tuple[str, str]] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            scratch[len(good) - len(batch) : len(good)] = featurizer.features(np.stack(batch))
            batch.clear()

    for member, data in iter_member_bytes(archive, [m for m, _ in labelled], ByteBudget(limits)):
        if data is None:
            corrupt.append((member.name, "damaged inside the zip"))
            continue
        if features.sniff_audio_format(data[:16]) is None:
            not_audio.append(member.name)
            continue
        try:
            clip = featurizer.decode(data)
        except features.ClipError as exc:
            corrupt.append((member.name, str(exc)))
            continue
        batch.append(featurizer.samples(clip))
        good.append(Good(member, label_of[member.index], clip.rate, clip.channels, clip.seconds, clip.format))
        if len(batch) == _BATCH:
            flush()
    flush()
    return good, not_audio, corrupt


def _check_counts(
    good: list[Good], not_audio: list[str], corrupt: list[tuple[str, str]], outside: list[str], limits: Limits
) -> None:
    if not good:
        found = (
            f" It has {len(not_audio)} file(s) that are not audio, such as {not_audio[0][:80]!r}." if not_audio else ""
        )
        if corrupt and not not_audio:
            found = f" {len(corrupt)} clip(s) could not be decoded, such as {corrupt[0][0][:80]!r} ({corrupt[0][1]})."
        elif outside and not not_audio:
            found = f" {len(outside)} file(s) are not inside a class folder, such as {outside[0][:80]!r}."
        raise DatasetError(
            "The zip has no readable audio clips in class folders. Put each class's clips (WAV, FLAC or OGG) in a "
            f"folder named after the class, and zip those folders.{found}"
        )
    readable = len(good) + len(corrupt)
    if corrupt and len(corrupt) / readable > limits.max_bad_image_fraction:
        examples = "; ".join(f"{name[:80]!r} ({why})" for name, why in corrupt[:3])
        raise DatasetError(
            f"{len(corrupt):,} of {readable:,} clips could not be read, over the "
            f"{limits.max_bad_image_fraction:.0%} allowed. For example: {examples}."
        )


def _check_classes(names: list[str], counts: list[int], limits: Limits) -> None:
    if len(names) < 2:
        raise DatasetError(
            f"All clips are in one class folder ({names[0]!r}). Classification needs at least two class folders."
        )
    if len(names) > limits.max_classes:
        raise DatasetError(f"The zip has {len(names):,} class folders; the limit is {limits.max_classes:,}.")
    for name, count in zip(names, counts, strict=True):
        if count < limits.min_per_class:
            raise DatasetError(
                f"The class folder {name!r} has only {count} clip{'s' if count != 1 else ''}; each class needs at "
                f"least {limits.min_per_class} (and many more for a useful model)."
            )


def _write_arrays(
    scratch: np.ndarray, good: list[Good], labels: np.ndarray, split: np.ndarray, shape: tuple[int, ...], out_dir: Path
) -> None:
    writers = SplitWriters(out_dir, split_counts(split), shape, np.float32, np.int64)
    ids = np.array([g.member.index for g in good], dtype=np.int64)
    per_block = max(1, _WRITE_BLOCK_BYTES // (int(np.prod(shape)) * 4))
    decoded = scratch[: len(good)]  # rows past it were files that were not clips
    try:
        for start in range(0, len(good), per_block):
            rows = slice(start, start + per_block)
            writers.write(split[rows], decoded[rows], labels[rows], ids[rows])
    except BaseException:
        writers.abort()
        raise
    writers.close()


def _write_samples(
    archive: Any,
    good: list[Good],
    labels: np.ndarray,
    split: np.ndarray,
    scratch: np.ndarray,
    featurizer: features.Featurizer,
    class_names: list[str],
    out_dir: Path,
    limits: Limits,
) -> list[dict[str, Any]]:
    """The first few training clips of each class: the clip as the model hears it (resampled,
    cut or padded; re-encoded, so the page never serves uploaded bytes) and its spectrogram."""
    thumbs_dir = out_dir / "thumbs"
    thumbs_dir.mkdir(exist_ok=True)
    per_class: Counter[int] = Counter()
    chosen: list[int] = []
    for row in np.flatnonzero(split == TRAIN):
        label = int(labels[row])
        if per_class[label] < limits.thumbs_per_class:
            per_class[label] += 1
            chosen.append(int(row))
    chosen.sort(key=lambda row: (int(labels[row]), row))  # the page shows them class by class
    thumbs: list[dict[str, Any]] = []
    seen: Counter[int] = Counter()
    members = [good[row].member for row in chosen]
    for row, (_member, data) in zip(chosen, iter_member_bytes(archive, members, ByteBudget(limits)), strict=True):
        if data is None:
            raise DatasetError(f"The zip entry {good[row].member.name[:120]!r} could not be read a second time.")
        label = int(labels[row])
        stem = f"{label}-{seen[label]}"  # our own names: member names never reach the disk
        seen[label] += 1
        samples = featurizer.samples(featurizer.decode(data))
        soundfile.write(thumbs_dir / f"{stem}.wav", samples, featurizer.rate, subtype="PCM_16", format="WAV")
        spectrogram_image(scratch[row]).save(thumbs_dir / f"{stem}.png", format="PNG")
        thumbs.append(
            {
                "audio": f"{stem}.wav",
                "image": f"{stem}.png",
                "class": class_names[label],
                "id": good[row].member.index,
            }
        )
    return thumbs


def spectrogram_image(sample: np.ndarray) -> Any:
    """A (n_mels, frames, 1) spectrogram as a picture: low frequencies at the bottom, loud is light."""
    return to_image(np.flipud(np.asarray(sample)), side=2 * max(sample.shape[0], sample.shape[1]))


def _profile(
    good: list[Good],
    class_names: list[str],
    class_counts: list[int],
    not_audio: list[str],
    corrupt: list[tuple[str, str]],
    outside: list[str],
    split: np.ndarray,
    audio: dict[str, Any],
    thumbs: list[dict[str, Any]],
) -> dict[str, Any]:
    seconds = [g.seconds for g in good]
    clip_seconds = float(audio["clip_seconds"])
    cut = sum(1 for s in seconds if s > clip_seconds + 1e-3)
    padded = sum(1 for s in seconds if s < clip_seconds - 1e-3)
    notes = []
    if corrupt:
        notes.append(f"{len(corrupt):,} clip(s) that could not be decoded were skipped.")
    if not_audio:
        notes.append(f"{len(not_audio):,} file(s) that are not WAV, FLAC or OGG audio were skipped.")
    if outside:
        notes.append(f"{len(outside):,} file(s) outside any class folder were skipped.")
    if cut:
        notes.append(
            f"{cut:,} clip(s) were longer than {clip_seconds:g} s and were cut to their first {clip_seconds:g} s "
            "(set clip_seconds to keep more)."
        )
    if padded:
        notes.append(f"{padded:,} clip(s) were shorter than {clip_seconds:g} s and were padded with silence.")
    return {
        "kind": "audio",
        "clips": len(good),
        "classes": [{"name": n, "count": c} for n, c in zip(class_names, class_counts, strict=True)],
        "seconds": {"min": min(seconds), "max": max(seconds), "median": statistics.median(seconds)},
        "sample_rates": {str(k): v for k, v in sorted(Counter(g.rate for g in good).items())},
        "channels": {str(k): v for k, v in sorted(Counter(g.channels for g in good).items())},
        "formats": dict(Counter(g.format for g in good)),
        "clip_seconds": clip_seconds,
        "sample_rate": audio["sample_rate"],
        "n_mels": audio["n_mels"],
        "cut": cut,
        "padded": padded,
        "skipped": {
            "corrupt": {"count": len(corrupt), "examples": [{"name": n, "why": w} for n, w in corrupt[:_EXAMPLES]]},
            "not_audio": {"count": len(not_audio), "examples": not_audio[:_EXAMPLES]},
            "outside_class_folders": {"count": len(outside), "examples": outside[:_EXAMPLES]},
        },
        "splits": {name: count for name, count in zip(SPLITS, split_counts(split).values(), strict=True)},
        "thumbnails": thumbs,
        "notes": notes,
    }
