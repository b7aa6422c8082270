"""Apply a dataset's preprocessing document (preprocessing.json) to raw inputs.

This module is copied verbatim into the downloaded code bundle and used by the predict
endpoint, so it imports only numpy, Pillow and the standard library. Ingestion calls the
same functions to materialise the training arrays, so training and serving cannot drift.
Which function applies is the dataset kind's choice (builder.datasets.kinds: each kind's
``transform``, and the bundle's kindio.py, call one of the transform_* functions below).

Raw inputs are what a person has before any processing:
- tables: rows as dicts of column name -> string (as read from a CSV file);
- text: the text strings;
- images: the bytes of each image file (JPEG, PNG, BMP, GIF or WebP).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
from PIL import Image, ImageOps

FORMAT = 1

# Cells that mean "no value". Ingestion passes the same list to the CSV reader.
MISSING_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A", "?")
_MISSING = frozenset(MISSING_TOKENS)
_JSON_NUMBERS = {float, int}

# Text: index 0 pads a short sequence, index 1 stands for a word not in the vocabulary.
PAD_INDEX = 0
OOV_INDEX = 1
TOKEN_PATTERN = r"\w+"
_TOKEN_RE = re.compile(TOKEN_PATTERN)

# Images: formats are recognised by their first bytes, never by the file name.
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP")
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
# Pillow only warns between MAX_IMAGE_PIXELS and twice that; callers turn the warning into an error.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > DEFAULT_MAX_IMAGE_PIXELS:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_IMAGE_PIXELS


class InputError(ValueError):
    """A raw input that cannot be turned into a model input; the message says which and why."""


class ImageTooLarge(InputError):
    """More pixels than allowed: possibly a decompression bomb, never decoded."""


# --- tables ---------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is str:  # the common case first: called once per cell
        return value in _MISSING
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value in _MISSING


def parse_number(value: Any, column: str) -> float:
    """One table cell as a float; NaN for a missing cell. Infinity is refused."""
    if is_missing(value):
        return math.nan
    if isinstance(value, bool):
        raise InputError(f"column {column!r}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"column {column!r}: {str(value)[:40]!r} is not a number") from None
    if math.isinf(number):
        raise InputError(f"column {column!r}: infinity is not a usable value; leave the cell empty instead")
    return number


def parse_numbers(values: Sequence[Any], column: str) -> np.ndarray:
    """parse_number over a column; numbers that are already floats or ints (JSON) are taken as
    they are, which gives the same values without a Python call per cell."""
    if set(map(type, values)) <= _JSON_NUMBERS:  # exact types: a bool is not taken for a number
        out = np.array(values, dtype=np.float64)
        if not np.isinf(out).any():
            return out
    return np.array([parse_number(v, column) for v in values], dtype=np.float64)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def encode_numeric_block(values: np.ndarray, features: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """float64 (n, k) values (NaN = missing) of k numeric features -> standardised float32 (n, k)."""
    impute = np.array([float(f["impute"]) for f in features])
    mean = np.array([float(f["mean"]) for f in features])
    std = np.array([float(f["std"]) for f in features])
    with np.errstate(over="ignore"):  # a value past float64 after standardising is refused below
        out = values - mean
        out /= std
    missing = np.isnan(out)
    if missing.any():  # a missing value becomes its standardised imputed value
        np.copyto(out, np.broadcast_to((impute - mean) / std, out.shape), where=missing)
    # inf, NaN or past float32: the model would see infinity. min and max first (NaN propagates
    # through them), so a block that is fine costs two reductions and no temporary arrays.
    if out.size and not (out.max() <= FLOAT32_MAX and out.min() >= -FLOAT32_MAX):
        too_large = ~(np.abs(out) <= FLOAT32_MAX)
        row, col = (int(i[0]) for i in np.nonzero(too_large))
        name = features[col]["name"]
        raise InputError(
            f"column {name!r}: {values[row, col]:g} is too large for the model, which computes in float32; "
            f"training saw values around {float(mean[col]):g} (standard deviation {float(std[col]):g})"
        )
    return out.astype(np.float32)


def category_codes(values: Sequence[Any], feature: Mapping[str, Any]) -> np.ndarray:
    """Category index per value; missing -> the imputed category; unseen -> -1."""
    lookup = {category: index for index, category in enumerate(feature["categories"])}
    impute = lookup[feature["impute"]]
    if set(map(type, values)) <= {str}:
        # All text (JSON rows, CSV cells): one dict lookup per cell, a missing token first as in is_missing.
        codes = {**lookup, **dict.fromkeys(_MISSING, impute)}
        return np.fromiter(map(codes.get, values, repeat(-1)), dtype=np.int64, count=len(values))
    return np.fromiter(
        (impute if is_missing(v) else lookup.get(str(v), -1) for v in values), dtype=np.int64, count=len(values)
    )


def encode_categorical(values: Sequence[Any], feature: Mapping[str, Any]) -> np.ndarray:
    codes = category_codes(values, feature)
    if feature["encoding"] == "index":
        # 0 is reserved for a category the training data never had.
        return (codes + 1).astype(np.float32).reshape(-1, 1)
    out = np.zeros((len(codes), len(feature["categories"])), dtype=np.float32)
    known = codes >= 0
    out[np.nonzero(known)[0], codes[known]] = 1.0
    return out


def feature_width(feature: Mapping[str, Any]) -> int:
    if feature["type"] == "categorical" and feature["encoding"] == "onehot":
        return len(feature["categories"])
    return 1


def transform_columns(doc: Mapping[str, Any], columns: Mapping[str, Any]) -> np.ndarray:
    """Columns (numeric: float64 arrays with NaN for missing; categorical: sequences of str/None)
    -> float32 matrix (n, width). Ingestion calls this on each batch it materialises."""
    parts = []
    features = doc["features"]
    start = 0
    while start < len(features):
        end = start
        while end < len(features) and features[end]["type"] == "numeric":
            end += 1
        if end > start:  # a run of numeric features is standardised as one block
            group = features[start:end]
            block = np.column_stack([np.asarray(columns[f["name"]], dtype=np.float64) for f in group])
            parts.append(encode_numeric_block(block, group))
            start = end
        else:
            parts.append(encode_categorical(columns[features[start]["name"]], features[start]))
            start += 1
    if not parts:
        raise InputError("the preprocessing document has no input features")
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def records_to_columns(doc: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rows of column name -> value -> per feature: numbers as float64 (NaN = missing), or the
    raw cells of a categorical column (category_codes reads missing and unseen cells)."""
    features = doc["features"]
    names = [f["name"] for f in features]
    cells: list[Sequence[Any]] = [[] for _ in names]
    try:  # every row has every column (a checked predict request): transposed in C
        if records and len(names) > 1:
            cells = list(zip(*map(itemgetter(*names), records), strict=True))
        elif records and names:
            cells = [[record[names[0]] for record in records]]
    except KeyError:  # a column left out of some row reads as missing
        cells = [[record.get(name) for record in records] for name in names]
    columns: dict[str, Any] = {}
    for feature, raw in zip(features, cells, strict=True):
        name = feature["name"]
        columns[name] = parse_numbers(raw, name) if feature["type"] == "numeric" else raw
    return columns


# --- text -----------------------------------------------------------------------------


def tokenize(text: str | None) -> list[str]:
    """Lower-cased words, after Unicode NFKC normalisation (so full-width letters match)."""
    if text is None:
        return []
    return _TOKEN_RE.findall(unicodedata.normalize("NFKC", str(text)).lower())


def encode_texts(texts: Sequence[str | None], text_doc: Mapping[str, Any]) -> np.ndarray:
    """Texts -> int32 token ids (n, sequence_length), truncated and padded at the end."""
    index = {word: i for i, word in enumerate(text_doc["vocabulary"])}
    length = int(text_doc["sequence_length"])
    out = np.full((len(texts), length), PAD_INDEX, dtype=np.int32)
    for row, text in enumerate(texts):
        ids = [index.get(token, OOV_INDEX) for token in tokenize(text)[:length]]
        out[row, : len(ids)] = ids
    return out


# --- images ---------------------------------------------------------------------------


def sniff_image_format(head: bytes) -> str | None:
    """The image format named by a file's first bytes, if it is one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def image_pixels(data: bytes) -> int:
    """Width times height from the image's header, without decoding it; 0 when it cannot be read
    (decoding it later says why)."""
    fmt = sniff_image_format(data[:32])
    if fmt is None:
        return 0
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return 0
    return width * height


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode image bytes fully, refusing unknown formats and decompression bombs."""
    fmt = sniff_image_format(data[:32])
    if fmt is None:
        raise InputError("not a JPEG, PNG, BMP, GIF or WebP image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(f"the image is {width}x{height} pixels, over the limit of {max_pixels:,} pixels")
            image.load()
        except InputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge(f"the image is too large to decode safely (over {max_pixels:,} pixels)") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(f"the image could not be decoded ({exc.__class__.__name__})") from None
    return image


def convert_mode(image: Image.Image, mode: str) -> Image.Image:
    """RGB or grayscale; transparent pixels are laid over white, photos turned upright (EXIF)."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("RGB" if mode == "rgb" else "L")


def image_to_array(image: Image.Image, image_doc: Mapping[str, Any]) -> np.ndarray:
    """A decoded image -> float32 (height, width, channels) in [0, 1]."""
    height, width = (int(v) for v in image_doc["size"])
    converted = convert_mode(image, image_doc["mode"]).resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(converted, dtype=np.uint8).astype(np.float32) / np.float32(255.0)
    return array.reshape(height, width, 3 if image_doc["mode"] == "rgb" else 1)


def encode_images(images: Sequence[bytes], image_doc: Mapping[str, Any]) -> np.ndarray:
    max_pixels = int(image_doc.get("max_pixels", DEFAULT_MAX_IMAGE_PIXELS))
    return np.stack([image_to_array(open_image(data, max_pixels), image_doc) for data in images])


# --- regression targets ---------------------------------------------------------------
# Models learn a regression target standardised on the training split: a target in the
# hundreds would otherwise need hundreds of epochs of large updates to reach its scale.
# The document records {"target_scaling": {"mean": m, "std": s}}; a model's raw output
# times s plus m is the value in the target's units. No key: outputs are already in them.


def target_scaling(doc: Mapping[str, Any]) -> tuple[float, float]:
    """(mean, std) of the training split's target; (0, 1) where the document has none."""
    scaling = doc.get("target_scaling") or {}
    return float(scaling.get("mean", 0.0)), float(scaling.get("std", 1.0))


def fit_target_scaling(y: np.ndarray) -> dict[str, float]:
    """The training target's mean and population standard deviation (1 for a constant target)."""
    values = np.asarray(y, dtype=np.float64)
    std = float(values.std())
    return {"mean": float(values.mean()), "std": std if std > 1e-12 else 1.0}


def scale_target(doc: Mapping[str, Any], y: np.ndarray) -> np.ndarray:
    """Target values in their own units -> what the model is trained to output (float32)."""
    mean, std = target_scaling(doc)
    return ((np.asarray(y, dtype=np.float64) - mean) / std).astype(np.float32)


def unscale_target(doc: Mapping[str, Any], outputs: np.ndarray) -> np.ndarray:
    """A model's raw regression outputs -> values in the target's units (float64)."""
    mean, std = target_scaling(doc)
    return np.asarray(outputs, dtype=np.float64) * std + mean


# --- per kind: raw records -> the model's input batch (each DatasetKind.transform calls one) --


def check_format(doc: Mapping[str, Any]) -> None:
    """InputError unless the document is in the format this module reads."""
    if doc.get("format") != FORMAT:
        raise InputError(f"unsupported preprocessing format {doc.get('format')!r} (expected {FORMAT})")


def transform_rows(doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
    """Table rows (objects of column name -> value) -> the feature matrix."""
    if any(not isinstance(r, Mapping) for r in records):
        raise InputError("each table row must be an object of column name -> value")
    return transform_columns(doc, records_to_columns(doc, records))


def transform_texts(doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
    """Texts (str, or UTF-8 bytes) -> token ids."""
    return encode_texts([r.decode("utf-8") if isinstance(r, bytes) else r for r in records], doc["text"])


def transform_images(doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
    """Image files' bytes -> float32 pixels."""
    if any(not isinstance(r, bytes | bytearray) for r in records):
        raise InputError("each image must be given as the bytes of an image file")
    return encode_images([bytes(r) for r in records], doc["image"])


# --- reading raw inputs from files (the code bundle's kindio modules use these) ------------


def read_csv_rows(path: Any) -> list[dict[str, str]]:
    """A CSV file's rows as {column: text}; utf-8-sig: spreadsheets often start one with a byte-order mark."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))
