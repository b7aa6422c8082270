"""The tabular kind: a CSV with a header row, one row per sample, one column to predict."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from builder.datasets import preprocessing
from builder.datasets.arrays import load_split
from builder.datasets.csvsource import show_columns, show_name
from builder.datasets.errors import DatasetError, OptionsError
from builder.datasets.kinds import csvfile
from builder.datasets.kinds.base import (
    DatasetKind,
    Example,
    InputProblems,
    PredictFields,
    bundle_source,
    input_name,
)
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult
from builder.datasets.tablefile import (
    SheetMissing,
    check_format_options,
    request_header,
    table_path,
)
from builder.datasets.tabular import ingest_tabular

COLUMN_TYPES = ("numeric", "categorical", "ignore")
MAX_PROBLEMS = 10
RANGE_ROWS = 65_536  # training rows read at a time for the columns' ranges
VALUE_TYPES = (str, int, float)
_FINE_TYPES = {str, int, float, type(None)}


def column_name_problem(value: Any) -> str | None:
    """None for a usable column name, else what to give instead."""
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return None
    return "Give a column name from the file's header."


class TabularKind(DatasetKind):
    name = "tabular"
    label = "Table (CSV), Parquet or Excel"
    description = (
        "A CSV (comma, semicolon, tab or bar separated; UTF-8, UTF-16 or Windows-1252), a Parquet file "
        "or an Excel workbook (.xlsx), with a header row; one row per sample."
    )
    upload_accept = (
        *csvfile.UPLOAD_ACCEPT, ".tsv", ".txt", "text/tab-separated-values", ".parquet", ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )  # fmt: skip
    source_name = "upload.csv"  # whatever the format: ours, read by its content (builder/datasets/tablefile.py)
    option_defaults: ClassVar[Mapping[str, Any]] = {
        "target_column": None,  # None: the last column
        "column_types": {},
        "encoding": "onehot",
        "task": "",  # "": decided from the target column
        # How the file is read; None: detected from the file (builder/datasets/tablefile.py).
        "delimiter": None,
        "file_encoding": None,
        "decimal": None,
        "sheet": None,  # an Excel workbook's sheet; None: the first
    }
    options_template = "builder/kinds/tabular_options.html"
    reads_csv_header = True
    preset_noun = "features"
    samples_label = "Rows"
    sample_template = "builder/kinds/tabular_samples.html"
    predict_fields = PredictFields("rows", "row", "row")
    predict_doc = "Tables: `rows` (or `row`), objects of column name -> value as in the uploaded CSV."
    predict_title = "One row"
    predict_template = "serving/kinds/table_input.html"
    predict_widget = "table"
    bundle_commands = ("python predict.py rows.csv", "python train.py data.csv --validation more.csv --epochs 10")

    def check_options(self, options: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if options["target_column"] is not None and (msg := column_name_problem(options["target_column"])):
            errors["target_column"] = msg
        types = options["column_types"]
        if not isinstance(types, dict) or not all(isinstance(k, str) for k in types):
            errors["column_types"] = 'Give an object of column name -> "numeric", "categorical" or "ignore".'
        elif bad := [k for k, v in types.items() if v not in COLUMN_TYPES]:
            errors["column_types"] = f"Column {bad[0]!r}: the type must be numeric, categorical or ignore."
        if options["encoding"] not in ("onehot", "index"):
            errors["encoding"] = 'Choose "onehot" or "index".'
        if options["task"] not in ("", "classification", "regression"):
            errors["task"] = 'Choose "classification" or "regression", or leave it out to decide from the data.'
        errors.update(check_format_options(options))
        return errors

    def check_upload(self, path: Path, options: dict[str, Any], limits: Limits) -> None:
        try:
            header = request_header(path, options, limits)
        except SheetMissing as exc:
            raise OptionsError({"sheet": str(exc)}) from None
        except DatasetError as exc:
            raise OptionsError({"file": str(exc)}) from None
        if header is None:  # a big workbook: its columns are checked at ingestion
            return
        listing = show_columns(header)
        target = options.get("target_column")
        if target is not None and target not in header:
            raise OptionsError(
                {"target_column": f"There is no column {show_name(target)}. The columns are: {listing}."}
            )
        unknown = [c for c in options.get("column_types", {}) if c not in header]
        if unknown:
            raise OptionsError(
                {"column_types": f"There is no column {show_name(unknown[0])}. The columns are: {listing}."}
            )
        if (target or header[-1]) in options.get("column_types", {}):
            raise OptionsError({"column_types": "The target column's type comes from the task; leave it out here."})

    def ingest(self, source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
        return ingest_tabular(source, options, out_dir, limits)

    def transform(self, doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
        return preprocessing.transform_rows(doc, records)

    # --- the dataset page ------------------------------------------------------------------
    def page_context(self, dataset: Any, source: Path | None) -> dict[str, Any]:
        # Until ingestion has converted a semicolon, UTF-16 or Excel upload, its rows are not shown.
        table = table_path(source, None if dataset.status == "ready" else dataset.options)
        return {"columns": column_rows(dataset), "sample": csvfile.sample_rows(table)}

    # --- examples --------------------------------------------------------------------------
    def read_example(self, doc: Mapping[str, Any], source: Path, version_dir: Path, index: int) -> Example | None:
        row = csvfile.row_at(table_path(source) or source, index)
        if row is None:
            return None
        return Example(row, row.get(doc.get("target_column") or "") or "")

    def describe_examples(
        self, examples: list[dict[str, Any]], source: Path | None, test_inputs: Callable[[], Any]
    ) -> None:
        csvfile.describe_with_rows(examples, table_path(source))

    # --- prediction ------------------------------------------------------------------------
    def parse_inputs(self, model: Any, field_name: str, values: list[Any], single: bool) -> list[Any]:
        needed = [f["name"] for f in model.doc["features"]]
        wanted, allowed = set(needed), model.columns
        # The common case in one pass of set and type checks; the messages only when it fails.
        if (
            all(type(row) is dict and wanted <= row.keys() <= allowed for row in values)
            and set(map(type, chain.from_iterable(map(dict.values, values)))) <= _FINE_TYPES
        ):
            return values
        problems: dict[str, list[str]] = {}
        for index, row in enumerate(values):
            at = input_name(field_name, index, single)
            if not isinstance(row, Mapping):
                problems[at] = ["expected an object of column name -> value, as a row of the uploaded CSV."]
            else:
                missing = [name for name in needed if name not in row]
                if missing:
                    problems[at] = [
                        f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
                        'send every input column (null or "" for a missing value).'
                    ]
                for key, value in row.items():
                    if key not in model.columns:
                        problems[f"{at}.{key}"] = [
                            f"unknown column; the model's input columns are {', '.join(map(repr, needed))}."
                        ]
                    elif value is not None and type(value) not in VALUE_TYPES:
                        problems[f"{at}.{key}"] = [f"expected a number or text, got {type(value).__name__}."]
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            raise InputProblems(problems)
        return values

    def input_notes(
        self, doc: Mapping[str, Any], records: Sequence[Any], name: Callable[[int], str]
    ) -> list[dict[str, str]]:
        """Cells whose category training never saw: encoded as unknown, as in training."""
        notes = []
        for feature in doc["features"]:
            if feature["type"] != "categorical":
                continue
            values: Sequence[Any] = [row.get(feature["name"]) for row in records]
            codes = preprocessing.category_codes(values, feature)
            for index in np.flatnonzero(codes < 0)[:MAX_PROBLEMS]:
                notes.append({
                    "field": f"{name(int(index))}.{feature['name']}",
                    "message": f"{str(values[index])[:40]!r} was not in the training data; "
                    "it is encoded as an unknown category, as in training.",
                })  # fmt: skip
        return notes

    def training_ranges(self, doc: Mapping[str, Any], version_dir: Path) -> dict[str, Any]:
        """Each numeric column's (lowest, highest) value in the training split, read back from
        the materialised X_train (standardised: value * std + mean); {} when it is not there."""
        numeric, width = [], 0
        for feature in doc.get("features", []):
            if feature["type"] == "numeric":
                numeric.append((feature["name"], width, float(feature["mean"]), float(feature["std"])))
            width += preprocessing.feature_width(feature)
        try:
            X, _ = load_split(version_dir, "train", mmap=True)
        except (OSError, ValueError):
            return {}
        if not numeric or X.ndim != 2 or X.shape[1] != width or not len(X):
            return {}
        at = [position for _, position, _, _ in numeric]
        low, high = np.full(len(at), np.inf), np.full(len(at), -np.inf)
        for start in range(0, len(X), RANGE_ROWS):  # bounded memory, whatever the split's size
            block = np.asarray(X[start : start + RANGE_ROWS][:, at], dtype=np.float64)
            low, high = np.fmin(low, block.min(axis=0)), np.fmax(high, block.max(axis=0))
        return {
            name: (float(lo) * std + mean, float(hi) * std + mean)
            for (name, _, mean, std), lo, hi in zip(numeric, low, high, strict=True)
        }

    def input_warnings(
        self, ranges: Mapping[str, Any], records: Sequence[Any], name: Callable[[int], str]
    ) -> list[dict[str, str]]:
        """Numbers far outside their column's training range: more than the range's width below
        its lowest or above its highest value (a column that held one value: more than that
        value's size, or 1)."""
        warnings = []
        for column, (low, high) in ranges.items():
            values = preprocessing.parse_numbers([row.get(column) for row in records], column)
            margin = high - low if high > low else max(abs(high), 1.0)
            with np.errstate(invalid="ignore"):  # a missing value (NaN) is imputed, never far
                far = (values < low - margin) | (values > high + margin)
            for index in np.flatnonzero(far)[:MAX_PROBLEMS]:
                warnings.append({
                    "field": f"{name(int(index))}.{column}",
                    "message": f"{column!r} is {values[index]:g}, far outside the {low:.4g} to {high:.4g} "
                    "the training data held; the model's answer for it is an extrapolation, so check the value.",
                })  # fmt: skip
        return warnings

    def predict_context(self, doc: Mapping[str, Any], example: Example | None) -> dict[str, Any]:
        value = example.value if example and isinstance(example.value, dict) else {}
        return {"has_example": example is not None, "fields": table_fields(doc, value)}

    def bundle_modules(self) -> dict[str, str]:
        return {"kindio.py": bundle_source("tabular.py")}


def column_rows(dataset: Any) -> list[dict[str, Any]]:
    """The profile's columns, each with the categories the preprocessing document learned."""
    from webapp import filestore

    profile = dataset.profile or {}
    categories = {}
    doc_path = dataset.version_dir / "preprocessing.json"
    if dataset.status == "ready" and (doc_path := filestore.fetched(doc_path)).is_file():
        doc = json.loads(doc_path.read_text())
        categories = {f["name"]: f.get("categories") or [] for f in doc.get("features", [])}
    target = (profile.get("target") or {}).get("column")
    rows = []
    for column in profile.get("columns") or []:
        row = dict(column)
        row["categories"] = categories.get(column.get("name"), [])
        row["is_target"] = column.get("name") == target
        rows.append(row)
    return rows


def table_fields(doc: Mapping[str, Any], example: Mapping[str, str]) -> list[dict[str, Any]]:
    """One control per input column, in the document's order, holding the example's value."""
    fields = []
    for index, feature in enumerate(doc["features"]):
        raw = example.get(feature["name"])
        field: dict[str, Any] = {"id": f"col-{index}", "name": feature["name"], "type": feature["type"]}
        if feature["type"] == "categorical":
            categories = [str(c) for c in feature["categories"]]
            value = "" if preprocessing.is_missing(raw) else str(raw)
            field.update(categories=categories, impute=str(feature.get("impute", "")), value=value,
                         unseen=value if value and value not in categories else "")  # fmt: skip
        else:
            field["value"] = number_text(raw)
        fields.append(field)
    return fields


def number_text(raw: Any) -> str:
    """A CSV cell as a number input's value: '' (missing, imputed as in training) unless finite."""
    if preprocessing.is_missing(raw):
        return ""
    try:
        number = float(str(raw).strip())
    except ValueError:
        return ""
    return str(raw).strip() if math.isfinite(number) else ""
