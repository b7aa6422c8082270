"""kindio.py for images: the images kind's file reading in the code bundle.

Shipped as kindio.py next to dataio.py, which calls it; imports only the bundle's own
modules and the standard library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import preprocessing

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}


def image_files(path: Path) -> list[Path]:
    """The file itself, or the image files in a folder and its sub-folders."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [path]


def read_inputs(doc: dict[str, Any], path: Path) -> tuple[list[str], list[Any]]:
    """Image files, or folders searched for them."""
    files = image_files(path)
    return [str(file) for file in files], [file.read_bytes() for file in files]


def read_labelled(doc: dict[str, Any], path: Path) -> tuple[list[Any], list[str], str]:
    """(image bytes, class names, "class folder"): a folder with one sub-folder per class, named after it."""
    records, labels = [], []
    for name in doc["class_names"]:
        for file in image_files(path / name) if (path / name).is_dir() else []:
            records.append(file.read_bytes())
            labels.append(name)
    if not records:
        raise SystemExit(f"{path}: no images in class folders named {', '.join(doc['class_names'][:5])}, ...")
    return records, labels, "class folder"


def transform(doc: dict[str, Any], records: list[Any]) -> np.ndarray:
    return preprocessing.transform_images(doc, records)
