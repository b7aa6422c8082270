"""One-click demo datasets, made from data scikit-learn ships (nothing is downloaded).

- iris: a table of flower measurements, 3 classes (tabular);
- digits: 8x8 handwritten digits as a zip of PNG class folders (images);
- reviews: short generated film reviews, positive or negative (text).

Each goes through the same upload path as a person's file, so a second click on the
same demo returns the dataset made by the first.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile


@dataclass(frozen=True)
class Demo:
    key: str
    name: str
    kind: str
    filename: str
    description: str
    options: dict[str, Any]
    build: Callable[[], bytes]


def iris_csv() -> bytes:
    from sklearn.datasets import load_iris

    iris = load_iris()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
    for features, target in zip(iris.data, iris.target, strict=True):
        writer.writerow([*(f"{v:g}" for v in features), iris.target_names[target]])
    return out.getvalue().encode()


def digits_zip() -> bytes:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = io.BytesIO()
    # Fixed timestamps make the bytes (and so the sha256) the same on every call.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, (image, target) in enumerate(zip(digits.images, digits.target, strict=True)):
            png = io.BytesIO()
            Image.fromarray((image * 255 / 16).round().astype("uint8"), mode="L").save(png, format="PNG")
            info = zipfile.ZipInfo(f"digits/{target}/{index:04d}.png", date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, png.getvalue())
    return out.getvalue()


_POSITIVE = ["wonderful", "moving", "brilliant", "funny", "gripping", "beautiful", "charming", "clever"]
_NEGATIVE = ["dull", "boring", "clumsy", "tedious", "predictable", "awful", "lifeless", "confusing"]
_SUBJECTS = ["the plot", "the acting", "the script", "the ending", "the music", "the camera work", "the cast"]
_OPENERS = ["I thought", "Honestly,", "To be fair,", "Overall", "My friends agreed"]


def reviews_csv(rows: int = 600, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    for _ in range(rows):
        label = rng.choice(["positive", "negative"])
        words = _POSITIVE if label == "positive" else _NEGATIVE
        other = _NEGATIVE if label == "positive" else _POSITIVE
        parts = [f"{rng.choice(_OPENERS)} {rng.choice(_SUBJECTS)} was {rng.choice(words)}"]
        parts.append(f"and {rng.choice(_SUBJECTS)} was {rng.choice(words)}")
        if rng.random() < 0.3:  # some noise, so that the task is not trivial
            parts.append(f"though {rng.choice(_SUBJECTS)} felt {rng.choice(other)}")
        writer.writerow([" ".join(parts) + ".", label])
    return out.getvalue().encode()


DEMOS: dict[str, Demo] = {
    demo.key: demo
    for demo in (
        Demo(
            "iris",
            "Iris flowers (demo)",
            "tabular",
            "iris.csv",
            "150 flowers, 4 measurements each; predict the species (3 classes).",
            {"target_column": "species"},
            iris_csv,
        ),
        Demo(
            "digits",
            "Handwritten digits (demo)",
            "images",
            "digits.zip",
            "1,797 grayscale 8x8 images of the digits 0-9.",
            {},
            digits_zip,
        ),
        Demo(
            "reviews",
            "Short film reviews (demo)",
            "text",
            "reviews.csv",
            "600 generated one-sentence reviews labelled positive or negative.",
            {"text_column": "text", "label_column": "label"},
            reviews_csv,
        ),
    )
}


def create_demo_dataset(owner: Any, key: str) -> Any:
    """The owner's copy of a demo dataset (the existing one if they already have it)."""
    from builder.datasets.upload import create_dataset_from_upload

    if key not in DEMOS:
        raise KeyError(f"unknown demo {key!r}; choose one of {', '.join(DEMOS)}")
    demo = DEMOS[key]
    upload = SimpleUploadedFile(demo.filename, demo.build(), content_type="application/octet-stream")
    return create_dataset_from_upload(owner, upload, demo.name, demo.kind, dict(demo.options))
