"""Raw inputs in, predictions out: the file handling shared by predict.py and train.py.

Needs only numpy, Pillow and the standard library (through preprocessing.py and csvsafe.py,
the same modules Layerloom uses to build the training arrays and to write safe CSV). Everything model-specific is read
from preprocessing.json and bundle.json, next to this file.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import preprocessing
from csvsafe import safe_cell
from heads import class_probabilities

HERE = Path(__file__).resolve().parent
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
LR_SCHEDULES = ("none", "reduce_on_plateau", "cosine")  # schedules.SCHEDULES


def load_json(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = HERE / path
    return json.loads(path.read_text(encoding="utf-8"))


# --- reading raw inputs ------------------------------------------------------------------


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    # utf-8-sig: spreadsheets often start a CSV with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def image_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [path]


def read_inputs(doc: dict[str, Any], paths: Sequence[Path]) -> tuple[list[str], list[Any]]:
    """(an id per input, the raw records preprocessing.transform_records takes).

    Tables: CSV files with the training columns (extra columns, such as the target, are
    ignored). Text: CSV files with the training text column, or plain files with one text
    per line. Images: image files, or folders searched for them.
    """
    ids: list[str] = []
    records: list[Any] = []
    for path in paths:
        if doc["kind"] == "tabular":
            rows = read_csv_rows(path)
            ids += [f"{path.name}:{n}" for n in range(1, len(rows) + 1)]
            records += rows
        elif doc["kind"] == "text":
            texts = read_texts(doc, path)
            ids += [f"{path.name}:{n}" for n in range(1, len(texts) + 1)]
            records += texts
        else:
            for file in image_files(path):
                ids.append(str(file))
                records.append(file.read_bytes())
    if not records:
        raise SystemExit("no inputs found in " + ", ".join(str(p) for p in paths))
    return ids, records


def read_texts(doc: dict[str, Any], path: Path) -> list[str]:
    column = doc["text"]["column"]
    if path.suffix.lower() == ".csv":
        rows = read_csv_rows(path)
        if rows and column not in rows[0]:
            raise SystemExit(f"{path}: no column {column!r}; the texts go in that column")
        return [row[column] for row in rows]
    return path.read_text(encoding="utf-8").splitlines()


def transform(doc: dict[str, Any], records: list[Any]) -> np.ndarray:
    try:
        return preprocessing.transform_records(doc, records)
    except preprocessing.InputError as exc:
        raise SystemExit(f"cannot use this input: {exc}") from None


# --- reading labelled data (train.py) ----------------------------------------------------


def read_labelled(doc: dict[str, Any], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets (as the model learns them) from data laid out like the upload.

    Tables: a CSV with the target column. Text: a CSV with the text and label columns.
    Images: a folder with one sub-folder per class, named after the class.
    """
    classes = {name: i for i, name in enumerate(doc.get("class_names") or [])}
    if doc["kind"] == "images":
        records, labels = [], []
        for index, name in enumerate(doc["class_names"]):
            for file in image_files(path / name) if (path / name).is_dir() else []:
                records.append(file.read_bytes())
                labels.append(index)
        if not records:
            raise SystemExit(f"{path}: no images in class folders named {', '.join(list(classes)[:5])}, ...")
        return transform(doc, records), np.asarray(labels, dtype=np.int64)
    rows = read_csv_rows(path)
    target = doc["text"]["label_column"] if doc["kind"] == "text" else doc["target_column"]
    rows = [row for row in rows if not preprocessing.is_missing(row.get(target))]
    if not rows:
        raise SystemExit(f"{path}: no rows with a value in the column {target!r}")
    raw = [row[target] for row in rows]
    if doc.get("task") == "regression":
        # Standardised as in training (preprocessing.json's target_scaling); predict.py undoes it.
        y = preprocessing.scale_target(doc, np.asarray([preprocessing.parse_number(v, target) for v in raw]))
    else:
        unknown = sorted({v for v in raw if v not in classes})
        if unknown:
            raise SystemExit(f"{path}: {target!r} has values the model has no class for: {unknown[:5]}")
        y = np.asarray([classes[v] for v in raw], dtype=np.int64)
    records = [row[doc["text"]["column"]] for row in rows] if doc["kind"] == "text" else rows
    return transform(doc, records), y


# --- writing predictions -----------------------------------------------------------------


def number(value: float) -> str:
    # Nine significant digits hold a float32 exactly.
    return format(float(value), ".9g")


def report(doc: dict[str, Any], head: str, ids: list[str], outputs: np.ndarray, output: Path | None) -> None:
    """One CSV row per input (to a file, or to standard output)."""
    outputs = outputs.reshape(len(ids), -1)
    if doc.get("task") == "regression":
        outputs = preprocessing.unscale_target(doc, outputs)  # the model learned a standardised target
        width = outputs.shape[1]
        header = ["input"] + (["prediction"] if width == 1 else [f"prediction_{i}" for i in range(width)])
        rows = [[name, *map(number, row)] for name, row in zip(ids, outputs, strict=True)]
    else:
        names = list(doc["class_names"])
        probs = class_probabilities(outputs, head)
        header = ["input", "label", "probability", *[f"p({name})" for name in names]]
        rows = []
        for name, row in zip(ids, probs, strict=True):
            best = int(row.argmax())
            rows.append([name, names[best], number(row[best]), *map(number, row)])
    handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow([safe_cell(v) for v in header])
        writer.writerows([safe_cell(v) for v in row] for row in rows)
    finally:
        if output:
            handle.close()


def train_arguments(
    description: str | None, settings: dict, optimizers: list[str], output: str
) -> argparse.Namespace:
    """train.py's command line, the same in both frameworks; defaults are the job's settings."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--validation", type=Path, help="data to report validation loss on (same layout)")
    parser.add_argument("--epochs", type=int, default=settings.get("epochs", 10))
    parser.add_argument("--batch-size", type=int, default=settings.get("batch_size", 32))
    parser.add_argument("--learning-rate", type=float, default=settings.get("learning_rate", 1e-3))
    parser.add_argument("--optimizer", choices=optimizers, default=settings.get("optimizer", "adam"))
    parser.add_argument("--loss", default=settings.get("loss", "auto"))
    parser.add_argument("--seed", type=int, default=settings.get("seed", 0))
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=settings.get("lr_schedule", "none"))
    parser.add_argument("--class-weight", choices=["none", "balanced"], default=settings.get("class_weight", "none"))
    parser.add_argument("--clipnorm", type=float, default=settings.get("clipnorm"),
                        help="scale all gradients together so their global norm is at most this")  # fmt: skip
    parser.add_argument("--label-smoothing", type=float, default=settings.get("label_smoothing", 0.0))
    parser.add_argument("--patience", type=int, default=settings.get("patience"),
                        help="with --validation: stop after this many epochs without a better validation loss "
                        "and keep the best epoch's weights")  # fmt: skip
    parser.add_argument("--output", type=Path, default=Path(output))
    return parser.parse_args()


def predict_arguments(description: str | None) -> argparse.Namespace:
    bundle = load_json("bundle.json")
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", type=Path, nargs="+", help="CSV, text or image files (or folders of images)")
    parser.add_argument("--output", type=Path, help="write the CSV here instead of to the screen")
    parser.add_argument("--weights", type=Path, default=HERE / bundle["weights"])
    parser.add_argument("--preprocessing", type=Path, default=HERE / "preprocessing.json")
    parser.add_argument("--batch-size", type=int, default=256)
    return parser.parse_args()
