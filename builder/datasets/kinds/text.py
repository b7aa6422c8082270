"""The text kind: a CSV with a text column and a label column -> int32 token ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from builder.datasets import preprocessing
from builder.datasets.csvsource import show_columns, show_name
from builder.datasets.errors import OptionsError
from builder.datasets.kinds import csvfile
from builder.datasets.kinds.base import (
    DatasetKind,
    Example,
    InputProblems,
    PredictFields,
    bundle_source,
    input_name,
    whole_number,
)
from builder.datasets.kinds.tabular import column_name_problem
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult
from builder.datasets.text import ingest_text

MAX_SEQUENCE_LENGTH = 4096


class TextKind(DatasetKind):
    name = "text"
    label = "Text classification (CSV)"
    description = "A UTF-8 CSV with a text column and a label column."
    upload_accept = csvfile.UPLOAD_ACCEPT
    source_name = "upload.csv"
    option_defaults: ClassVar[Mapping[str, Any]] = {
        "text_column": "text",
        "label_column": "label",
        "vocab_size": 20_000,
        "sequence_length": None,  # None: covers 95% of training texts
    }
    options_template = "builder/kinds/text_options.html"
    reads_csv_header = True
    samples_label = "Rows"
    sample_template = "builder/kinds/text_samples.html"
    predict_fields = PredictFields("texts", "text", "text")
    predict_doc = "Text: `texts` (or `text`)."
    predict_title = "A text"
    predict_template = "serving/kinds/text_input.html"
    predict_widget = "text"
    bundle_commands = (
        "python predict.py texts.csv      # or a .txt file, one text per line",
        "python train.py data.csv",
    )

    def check_options(self, options: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for key in ("text_column", "label_column"):
            if msg := column_name_problem(options[key]):
                errors[key] = msg
        if options["text_column"] == options["label_column"] and "text_column" not in errors:
            errors["label_column"] = "The label column must differ from the text column."
        if not whole_number(options["vocab_size"]) or not 10 <= options["vocab_size"] <= 1_000_000:
            errors["vocab_size"] = "The vocabulary size must be a whole number from 10 to 1,000,000."
        length = options["sequence_length"]
        if length is not None and (not whole_number(length) or not 1 <= length <= MAX_SEQUENCE_LENGTH):
            errors["sequence_length"] = f"The sequence length must be a whole number from 1 to {MAX_SEQUENCE_LENGTH}."
        return errors

    def check_upload(self, path: Path, options: dict[str, Any], limits: Limits) -> None:
        header = csvfile.header_or_error(path, limits)
        listing = show_columns(header)
        errors = {
            key: f"There is no column {show_name(options[key])}. The columns are: {listing}."
            for key in ("text_column", "label_column")
            if options[key] not in header
        }
        if errors:
            raise OptionsError(errors)

    def ingest(self, source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
        return ingest_text(source, options, out_dir, limits)

    def transform(self, doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
        return preprocessing.transform_texts(doc, records)

    # --- presets ---------------------------------------------------------------------------
    def preset_options(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """The Embedding reads as many token ids as the vocabulary holds."""
        return {"vocab_size": int((profile.get("tokens") or {}).get("vocabulary_size") or 0) or None}

    # --- the dataset page ------------------------------------------------------------------
    def page_context(self, dataset: Any, source: Path | None) -> dict[str, Any]:
        return {"sample": csvfile.sample_rows(source)}

    # --- examples --------------------------------------------------------------------------
    def read_example(self, doc: Mapping[str, Any], source: Path, version_dir: Path, index: int) -> Example | None:
        row = csvfile.row_at(source, index)
        if row is None:
            return None
        text = row.get(doc["text"]["column"])
        return Example(text, row.get(doc["text"].get("label_column") or "") or "") if text else None

    def describe_examples(
        self, examples: list[dict[str, Any]], source: Path | None, test_inputs: Callable[[], Any]
    ) -> None:
        csvfile.describe_with_rows(examples, source)

    # --- the evaluation's baselines ---------------------------------------------------------
    baseline_inputs_label = "the TF-IDF of the tokens"

    def baseline_inputs(self, X: np.ndarray) -> np.ndarray | list[str]:
        """Each text as the model reads it (its token ids, padding dropped), one document per text."""
        return [" ".join(map(str, row[row != preprocessing.PAD_INDEX].tolist())) for row in np.asarray(X)]

    # --- prediction ------------------------------------------------------------------------
    def parse_inputs(self, model: Any, field_name: str, values: list[Any], single: bool) -> list[Any]:
        for index, text in enumerate(values):
            if not isinstance(text, str):
                at = input_name(field_name, index, single)
                raise InputProblems({at: [f"expected text, got {type(text).__name__}."]})
        return values

    def predict_context(self, doc: Mapping[str, Any], example: Example | None) -> dict[str, Any]:
        value = example.value if example else None
        return {"has_example": example is not None, "example_text": value if isinstance(value, str) else ""}

    def bundle_modules(self) -> dict[str, str]:
        return {"kindio.py": bundle_source("text.py")}
