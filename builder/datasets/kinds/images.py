"""The images kind: a zip with one folder per class -> float32 pixels of one size and colour mode."""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from builder.datasets import preprocessing
from builder.datasets.archive import list_members, open_archive
from builder.datasets.csvsource import describe_binary
from builder.datasets.errors import DatasetError, OptionsError
from builder.datasets.images import ingest_images
from builder.datasets.kinds.base import (
    DatasetKind,
    Example,
    InputProblems,
    PredictFields,
    SampleMedia,
    bundle_source,
    input_name,
    whole_number,
)
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult

MAX_IMAGE_SIDE = 1024
# A larger example image is not worth putting in the predict page; the file input still takes it.
MAX_EXAMPLE_IMAGE_BYTES = 256 * 1024
# Thumbnails are written by ingestion under our own names: "<class index>-<n>.png".
THUMB_NAME = re.compile(r"\d{1,4}-\d{1,4}\.png")
THUMB_SIDE = 64


class ImagesKind(DatasetKind):
    name = "images"
    label = "Images (zip of class folders)"
    description = "A .zip with one folder per class (cats/1.jpg, dogs/2.png)."
    upload_accept = (".zip", "application/zip")
    source_name = "upload.zip"
    option_defaults: ClassVar[Mapping[str, Any]] = {
        "image_size": None,  # None: the median size of the training images
        "color_mode": None,  # None: grayscale when every image is, else RGB
    }
    preset_noun = "images"
    samples_label = "Images"
    sample_template = "builder/kinds/images_samples.html"
    example_unit = "file"
    input_is_image = True
    baseline_inputs_label = "the standardised pixels"
    predict_fields = PredictFields("images", "image", "image")
    accepts_files = True
    predict_doc = "Images: `images` (or `image`), base64 in JSON or files in a multipart body."
    predict_title = "An image"
    predict_template = "serving/kinds/image_input.html"
    predict_widget = "file"
    bundle_commands = ("python predict.py photo.jpg more_photos/", "python train.py images/   # images/<class>/*.png")

    def check_options(self, options: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        size = options["image_size"]
        if size is not None:
            if not isinstance(size, list | tuple) or len(size) != 2 or not all(whole_number(v) for v in size):
                errors["image_size"] = "Give [height, width] in pixels, e.g. [64, 64]."
            elif not all(4 <= v <= MAX_IMAGE_SIDE for v in size):
                errors["image_size"] = f"Height and width must be between 4 and {MAX_IMAGE_SIDE} pixels."
            else:
                options["image_size"] = [int(v) for v in size]
        if options["color_mode"] not in (None, "rgb", "grayscale"):
            errors["color_mode"] = 'Choose "rgb" or "grayscale".'
        return errors

    def check_upload(self, path: Path, options: dict[str, Any], limits: Limits) -> None:
        check_class_zip(path, limits)

    def ingest(self, source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
        return ingest_images(source, options, out_dir, limits)

    def transform(self, doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
        return preprocessing.transform_images(doc, records)

    # --- the dataset page ------------------------------------------------------------------
    def sample_count(self, profile: Mapping[str, Any]) -> int | None:
        return profile.get("images")

    def page_context(self, dataset: Any, source: Path | None) -> dict[str, Any]:
        return {"thumbnails": (dataset.profile or {}).get("thumbnails") or []}

    def sample_media(self, version_dir: Path, name: str) -> SampleMedia | None:
        if not THUMB_NAME.fullmatch(name):
            return None
        return SampleMedia(version_dir / "thumbs" / name, "image/png")

    # --- examples --------------------------------------------------------------------------
    def read_example(self, doc: Mapping[str, Any], source: Path, version_dir: Path, index: int) -> Example | None:
        """The image by the zip member index ingestion recorded (samples.json), never by a name a user gave."""
        member = read_class_member(source, version_dir, index, MAX_EXAMPLE_IMAGE_BYTES)
        if member is None:
            return None
        data, name = member
        return Example(data, class_of(name, doc))

    def describe_examples(
        self, examples: list[dict[str, Any]], source: Path | None, test_inputs: Callable[[], Any]
    ) -> None:
        """Small PNG data URLs drawn from the test split's own pixels."""
        X = test_inputs()
        for example in examples:
            example["image"] = png_data_url(to_image(np.asarray(X[example["index"]])))

    # --- prediction ------------------------------------------------------------------------
    def parse_inputs(self, model: Any, field_name: str, values: list[Any], single: bool) -> list[Any]:
        return decode_files(values, field_name, single, "image file")

    def predict_context(self, doc: Mapping[str, Any], example: Example | None) -> dict[str, Any]:
        value = example.value if example else None
        url = image_data_url(value) if isinstance(value, bytes) else ""
        return {"has_example": bool(url), "example_url": url}

    def bundle_modules(self) -> dict[str, str]:
        return {"kindio.py": bundle_source("images.py")}


# --- shared by kinds whose upload is a zip of class folders --------------------------------


def check_class_zip(path: Path, limits: Limits) -> None:
    """Within the request: the file is a zip whose member list is safe to read."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head.startswith(b"PK\x03\x04"):
        what = describe_binary(head) or ("an empty zip archive" if head.startswith(b"PK\x05\x06") else "text")
        raise OptionsError(
            {"file": f"This file looks like {what}, not a zip archive. Zip one folder per class and upload the .zip."}
        )
    try:
        with open_archive(path) as archive:
            list_members(archive, limits)
    except DatasetError as exc:
        raise OptionsError({"file": str(exc)}) from None


def read_class_member(source: Path, version_dir: Path, index: int, max_bytes: int) -> tuple[bytes, str] | None:
    """(bytes, member name) of the zip member with this index, found through samples.json;
    None when it is larger than max_bytes."""
    names = json.loads((version_dir / "samples.json").read_text(encoding="utf-8"))["names"]
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(names[str(index)])
        if info.file_size > max_bytes:
            return None
        return archive.read(info), info.filename


def class_of(member_name: str, doc: Mapping[str, Any]) -> str:
    """The class is the file's folder ("digits/3/0042.png" or "3/0042.png": class "3")."""
    classes = {str(c) for c in doc.get("class_names") or []}
    return next((part for part in PurePosixPath(member_name).parts[:-1] if part in classes), "")


def decode_files(values: list[Any], field_name: str, single: bool, noun: str) -> list[bytes]:
    """Predict inputs given as files' bytes (multipart) or base64 strings (JSON, data: URLs too);
    ``noun`` names the file in messages ("image file": "expected an image file's bytes ...")."""
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            out.append(value)
            continue
        at = input_name(field_name, index, single)
        if not isinstance(value, str):
            raise InputProblems(
                {at: [f"expected an {noun}'s bytes in base64 (or upload the file in a multipart body)."]}
            )
        text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
        try:
            out.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise InputProblems({at: [f"not valid base64; encode the {noun}'s bytes in base64."]}) from None
    return out


def image_data_url(image: bytes) -> str:
    """An image file's bytes as a data: URL ("" when they are not an image format we read)."""
    kind = (preprocessing.sniff_image_format(image[:32]) or "").lower()
    if not kind:
        return ""
    return f"data:image/{kind};base64,{base64.b64encode(image).decode()}"


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_image(sample: np.ndarray, side: int = THUMB_SIDE) -> Image.Image:
    """One (height, width, channels) sample -> a PIL image whose longer side is `side` pixels.

    Values outside [0, 1] (not what ingestion writes) are stretched to fit; small inputs are
    enlarged with nearest-neighbour sampling so their pixels stay visible.
    """
    values = np.asarray(sample, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low < 0.0 or high > 1.0:
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
