"""Raw inputs in, predictions out: the file handling shared by predict.py and train.py.

Needs only numpy, Pillow and the standard library (through preprocessing.py and csvsafe.py,
the same modules Layerloom uses to build the training arrays and to write safe CSV, and
kindio.py, the dataset kind's file reading). Everything model-specific is read from
preprocessing.json and bundle.json, next to this file.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import kindio
import numpy as np
import preprocessing
from csvsafe import safe_cell
from heads import class_probabilities

HERE = Path(__file__).resolve().parent
LR_SCHEDULES = ("none", "reduce_on_plateau", "cosine")  # schedules.SCHEDULES


def load_json(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = HERE / path
    return json.loads(path.read_text(encoding="utf-8"))


# --- reading raw inputs ------------------------------------------------------------------
# How a file becomes raw records is the dataset kind's: kindio.py, shipped with this file,
# is the kind's reader (read_inputs, read_labelled, transform).


def read_inputs(doc: dict[str, Any], paths: Sequence[Path]) -> tuple[list[str], list[Any]]:
    """(an id per input, the raw records kindio.transform takes), from every path given."""
    ids: list[str] = []
    records: list[Any] = []
    for path in paths:
        more_ids, more = kindio.read_inputs(doc, path)
        ids += more_ids
        records += more
    if not records:
        raise SystemExit("no inputs found in " + ", ".join(str(p) for p in paths))
    return ids, records


def transform(doc: dict[str, Any], records: list[Any]) -> np.ndarray:
    try:
        preprocessing.check_format(doc)
        return kindio.transform(doc, records)
    except preprocessing.InputError as exc:
        raise SystemExit(f"cannot use this input: {exc}") from None


# --- reading labelled data (train.py) ----------------------------------------------------


def read_labelled(doc: dict[str, Any], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets (as the model learns them) from data laid out like the upload."""
    classes = {name: i for i, name in enumerate(doc.get("class_names") or [])}
    records, raw, target = kindio.read_labelled(doc, path)
    if doc.get("task") == "regression":
        # Standardised as in training (preprocessing.json's target_scaling); predict.py undoes it.
        y = preprocessing.scale_target(doc, np.asarray([preprocessing.parse_number(v, target) for v in raw]))
    else:
        unknown = sorted({v for v in raw if v not in classes})
        if unknown:
            raise SystemExit(f"{path}: {target!r} has values the model has no class for: {unknown[:5]}")
        y = np.asarray([classes[v] for v in raw], dtype=np.int64)
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


def train_arguments(description: str | None, settings: dict, optimizers: list[str], output: str) -> argparse.Namespace:
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
