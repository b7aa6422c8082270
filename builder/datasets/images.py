"""Images: a zip of class folders -> float32 arrays of one size and colour mode.

Pass 1 decodes every member (recognised by content, not name) to count classes, sizes and
bad files; pass 2 decodes again through preprocessing.image_to_array, the function the
predict endpoint uses, and writes each image to its split.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.datasets import preprocessing
from builder.datasets.archive import ByteBudget, Member, is_clutter, iter_member_bytes, list_members, open_archive
from builder.datasets.arrays import SPLITS, SplitWriters
from builder.datasets.capacity import arrays_bytes, check_room
from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult, write_json
from builder.datasets.split import assign_splits, split_counts

_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
_WRITE_BLOCK_BYTES = 32 * 1024 * 1024
_EXAMPLES = 5


@dataclass
class Good:
    member: Member
    label: str
    width: int
    height: int
    mode: str
    format: str


def _labelled(members: list[Member]) -> tuple[list[tuple[Member, str]], list[str]]:
    """(member, class folder) pairs, and the names of files outside any class folder."""
    files = [m for m in members if not is_clutter(m.parts)]
    # "dataset/cats/1.jpg" and "cats/1.jpg" both mean class "cats".
    tops = {m.parts[0] for m in files}
    strip = 1 if len(tops) == 1 and any(len(m.parts) >= 3 for m in files) else 0
    labelled, outside = [], []
    for member in files:
        parts = member.parts[strip:]
        if len(parts) < 2:
            outside.append(member.name)
        else:
            labelled.append((member, parts[0]))
    return labelled, outside


def ingest_images(source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
    with open_archive(source) as archive:
        members = list_members(archive, limits)
        labelled, outside = _labelled(members)
        label_of = {m.index: label for m, label in labelled}
        good: list[Good] = []
        non_image: list[str] = []
        corrupt: list[tuple[str, str]] = []
        for member, data in iter_member_bytes(archive, [m for m, _ in labelled], ByteBudget(limits)):
            if data is None:
                corrupt.append((member.name, "damaged inside the zip"))
                continue
            fmt = preprocessing.sniff_image_format(data[:32])
            if fmt is None:
                non_image.append(member.name)
                continue
            try:
                image = preprocessing.open_image(data, limits.max_image_pixels)
            except preprocessing.ImageTooLarge as exc:
                raise DatasetError(
                    f"The image {member.name[:120]!r} was refused: {exc}. Very large images can be decompression "
                    "bombs; resize it or leave it out."
                ) from None
            except preprocessing.InputError as exc:
                corrupt.append((member.name, str(exc)))
                continue
            good.append(Good(member, label_of[member.index], image.width, image.height, image.mode, fmt))
            image.close()

        _check_counts(good, non_image, corrupt, outside, limits)
        class_names = sorted({g.label for g in good}, key=_natural)
        class_index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([class_index[g.label] for g in good], dtype=np.int64)
        class_counts = np.bincount(labels, minlength=len(class_names)).tolist()
        _check_classes(class_names, class_counts, limits)
        split = assign_splits(len(good), options["split"], options["seed"], labels=labels)

        train = [g for g, s in zip(good, split, strict=True) if s == 0]
        size = options.get("image_size") or _default_size(train)
        mode = options.get("color_mode") or ("grayscale" if all(g.mode in _GRAY_MODES for g in train) else "rgb")
        channels = 3 if mode == "rgb" else 1
        doc: dict[str, Any] = {
            "format": preprocessing.FORMAT,
            "kind": "images",
            "task": "classification",
            "class_names": class_names,
            "image": {
                "size": list(size),
                "mode": mode,
                "resample": "bilinear",
                "scale": "1/255",
                "max_pixels": limits.max_image_pixels,
                "formats": list(preprocessing.IMAGE_FORMATS),
            },
            "input_shape": [size[0], size[1], channels],
        }
        thumbs = _write(archive, good, labels, split, doc, out_dir, limits)
    write_json(out_dir / "preprocessing.json", doc)
    write_json(
        out_dir / "samples.json",
        {"id": "zip member index", "names": {str(g.member.index): g.member.name for g in good}},
    )
    profile = _profile(good, class_names, class_counts, non_image, corrupt, outside, split, doc, thumbs)
    return IngestResult("classification", doc["input_shape"], class_names, profile, doc)


def _check_counts(
    good: list[Good], non_image: list[str], corrupt: list[tuple[str, str]], outside: list[str], limits: Limits
) -> None:
    if not good:
        found = (
            f" It has {len(non_image)} file(s) that are not images, such as {non_image[0][:80]!r}." if non_image else ""
        )
        if outside and not non_image:
            found = f" {len(outside)} file(s) are not inside a class folder, such as {outside[0][:80]!r}."
        raise DatasetError(
            "The zip has no readable images in class folders. Put each class's images (JPEG, PNG, BMP, GIF or "
            f"WebP) in a folder named after the class, and zip those folders.{found}"
        )
    readable = len(good) + len(corrupt)
    if corrupt and len(corrupt) / readable > limits.max_bad_image_fraction:
        examples = "; ".join(f"{name[:80]!r} ({why})" for name, why in corrupt[:3])
        raise DatasetError(
            f"{len(corrupt):,} of {readable:,} images could not be read, over the "
            f"{limits.max_bad_image_fraction:.0%} allowed. For example: {examples}."
        )


def _check_classes(names: list[str], counts: list[int], limits: Limits) -> None:
    if len(names) < 2:
        raise DatasetError(
            f"All images are in one class folder ({names[0]!r}). Classification needs at least two class folders."
        )
    if len(names) > limits.max_classes:
        raise DatasetError(f"The zip has {len(names):,} class folders; the limit is {limits.max_classes:,}.")
    for name, count in zip(names, counts, strict=True):
        if count < limits.min_per_class:
            raise DatasetError(
                f"The class folder {name!r} has only {count} image{'s' if count != 1 else ''}; each class needs at "
                f"least {limits.min_per_class} (and many more for a useful model)."
            )


def _natural(name: str) -> tuple[int, int, str]:
    """Folders named 0..10 sort as numbers, others alphabetically after them."""
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def _default_size(train: list[Good]) -> list[int]:
    """The median training image, kept between 8 and 256 pixels a side."""
    height = int(statistics.median(g.height for g in train))
    width = int(statistics.median(g.width for g in train))
    return [min(max(height, 8), 256), min(max(width, 8), 256)]


def _write(
    archive: Any,
    good: list[Good],
    labels: np.ndarray,
    split: np.ndarray,
    doc: dict[str, Any],
    out_dir: Path,
    limits: Limits,
) -> list[dict[str, Any]]:
    shape = tuple(doc["input_shape"])
    check_room(arrays_bytes(sum(split_counts(split).values()), shape, np.float32, np.int64), out_dir, limits,
               hint="Use a smaller image_size, or fewer images.")  # fmt: skip
    writers = SplitWriters(out_dir, split_counts(split), shape, np.float32, np.int64)
    thumbs_dir = out_dir / "thumbs"
    thumbs_dir.mkdir(exist_ok=True)
    thumbs: list[dict[str, Any]] = []
    per_class: Counter[int] = Counter()
    per_block = max(1, _WRITE_BLOCK_BYTES // (int(np.prod(shape)) * 4))
    block_x: list[np.ndarray] = []
    block_rows: list[int] = []

    def flush() -> None:
        if block_rows:
            rows = np.array(block_rows)
            writers.write(split[rows], np.stack(block_x), labels[rows], np.array([good[r].member.index for r in rows]))
            block_x.clear()
            block_rows.clear()

    try:
        members = [g.member for g in good]
        for row, (_member, data) in enumerate(iter_member_bytes(archive, members, ByteBudget(limits))):
            if data is None:
                raise DatasetError(f"The zip entry {good[row].member.name[:120]!r} could not be read a second time.")
            try:
                image = preprocessing.open_image(data, int(doc["image"]["max_pixels"]))
                block_x.append(preprocessing.image_to_array(image, doc["image"]))
            except preprocessing.InputError as exc:
                raise DatasetError(f"The image {good[row].member.name[:120]!r} changed between reads: {exc}") from None
            label = int(labels[row])
            if split[row] == 0 and per_class[label] < limits.thumbs_per_class:
                thumb = preprocessing.convert_mode(image, "rgb")
                thumb.thumbnail((limits.thumb_side, limits.thumb_side))
                name = f"{label}-{per_class[label]}.png"  # our own name: member names never reach the disk
                thumb.save(thumbs_dir / name, format="PNG")
                thumbs.append(
                    {"file": f"thumbs/{name}", "class": doc["class_names"][label], "id": good[row].member.index}
                )
                per_class[label] += 1
            block_rows.append(row)
            if len(block_rows) >= per_block:
                flush()
        flush()
    except BaseException:
        writers.abort()
        raise
    writers.close()
    return thumbs


def _profile(
    good: list[Good],
    class_names: list[str],
    class_counts: list[int],
    non_image: list[str],
    corrupt: list[tuple[str, str]],
    outside: list[str],
    split: np.ndarray,
    doc: dict[str, Any],
    thumbs: list[dict[str, Any]],
) -> dict[str, Any]:
    widths = [g.width for g in good]
    heights = [g.height for g in good]
    notes = []
    if corrupt:
        notes.append(f"{len(corrupt):,} damaged image(s) were skipped.")
    if non_image:
        notes.append(f"{len(non_image):,} file(s) that are not images were skipped.")
    if outside:
        notes.append(f"{len(outside):,} file(s) outside any class folder were skipped.")
    if len(set(zip(widths, heights, strict=True))) > 1:
        notes.append("Images come in several sizes; all were resized to {}x{}.".format(*doc["image"]["size"]))
    return {
        "kind": "images",
        "images": len(good),
        "classes": [{"name": n, "count": c} for n, c in zip(class_names, class_counts, strict=True)],
        "sizes": {
            "width": {"min": min(widths), "max": max(widths), "median": statistics.median(widths)},
            "height": {"min": min(heights), "max": max(heights), "median": statistics.median(heights)},
        },
        "modes": dict(Counter(g.mode for g in good)),
        "formats": dict(Counter(g.format for g in good)),
        "resized_to": doc["image"]["size"],
        "color_mode": doc["image"]["mode"],
        "skipped": {
            "corrupt": {"count": len(corrupt), "examples": [{"name": n, "why": w} for n, w in corrupt[:_EXAMPLES]]},
            "not_images": {"count": len(non_image), "examples": non_image[:_EXAMPLES]},
            "outside_class_folders": {"count": len(outside), "examples": outside[:_EXAMPLES]},
        },
        "splits": {name: count for name, count in zip(SPLITS, split_counts(split).values(), strict=True)},
        "thumbnails": thumbs,
        "notes": notes,
    }
