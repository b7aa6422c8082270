"""Thumbnails of the worst-misclassified test images, so a person can see what the model got wrong.

Ingestion keeps only a few thumbnails per class, from the training split, so the test images
the evaluation points at have none. They are drawn here from the materialised test split
(float32, channels-last, in [0, 1]): exactly the pixels the model was given, at the size and
colour mode it saw them, scaled so the longer side is THUMB_SIDE pixels. Small inputs are
enlarged with nearest-neighbour sampling so their pixels stay visible.

Each image is a PNG artifact (kind "thumbnail", downloadable like any other artifact) and
each `worst_misclassified` entry names it under "thumbnail".
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

THUMB_SIDE = 64
KIND = "thumbnail"


def is_image_input(doc: dict[str, Any], sample_shape: tuple[int, ...]) -> bool:
    """An image dataset: the preprocessing document says so and a sample is (height, width, 1 or 3)."""
    return doc.get("kind") == "images" and len(sample_shape) == 3 and sample_shape[-1] in (1, 3)


def to_image(sample: np.ndarray, side: int = THUMB_SIDE) -> Image.Image:
    """One (height, width, channels) sample -> a PIL image whose longer side is `side` pixels."""
    values = np.asarray(sample, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low < 0.0 or high > 1.0:  # not the [0, 1] ingestion writes: stretch what is there
        values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    pixels = np.round(np.nan_to_num(values, nan=0.0).clip(0.0, 1.0) * 255.0).astype(np.uint8)
    image = Image.fromarray(pixels[..., 0], "L") if pixels.shape[-1] == 1 else Image.fromarray(pixels, "RGB")
    height, width = pixels.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size != (width, height):
        grow = scale > 1
        image = image.resize(size, Image.Resampling.NEAREST if grow else Image.Resampling.LANCZOS)
    return image


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
