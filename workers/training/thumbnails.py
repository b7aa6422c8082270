"""Thumbnails of the worst-misclassified test images, so a person can see what the model got wrong.

Ingestion keeps only a few thumbnails per class, from the training split, so the test images
the evaluation points at have none. They are drawn here from the materialised test split
(float32, channels-last, in [0, 1]): exactly the pixels the model was given, at the size and
colour mode it saw them, scaled so the longer side is THUMB_SIDE pixels (to_image, shared with
the job page's examples). Which datasets have pictures is the kind's (input_is_image).

Each image is a PNG artifact (kind "thumbnail", downloadable like any other artifact) and
each `worst_misclassified` entry names it under "thumbnail".
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from builder.datasets.kinds import UnknownKind, kind_of
from builder.datasets.kinds.images import THUMB_SIDE, to_image

__all__ = ["KIND", "THUMB_SIDE", "filename", "is_image_input", "to_image", "write_png"]
KIND = "thumbnail"


def is_image_input(doc: dict[str, Any], sample_shape: tuple[int, ...]) -> bool:
    """A picture: the dataset kind says its inputs are images and a sample is (height, width, 1 or 3)."""
    try:
        kind = kind_of(doc)
    except UnknownKind:
        return False
    return kind.input_is_image and len(sample_shape) == 3 and sample_shape[-1] in (1, 3)


def write_png(sample: np.ndarray, path: Path, side: int = THUMB_SIDE) -> tuple[int, int]:
    """Write the sample's thumbnail to path; its (width, height)."""
    image = to_image(sample, side)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return image.size


def filename(entry: dict[str, Any]) -> str:
    """Our own name for an example's thumbnail: the dataset id is an integer, never a member name."""
    return f"misclassified-{int(entry['id'])}.png"
