"""Text classification: a CSV with a text column and a label column -> int32 token ids.

The vocabulary and the default sequence length come from the training rows only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from builder.datasets import preprocessing
from builder.datasets.arrays import SplitWriters
from builder.datasets.capacity import arrays_bytes, check_room
from builder.datasets.csvsource import check_utf8, iter_batches, read_header, show_columns, show_name
from builder.datasets.errors import DatasetError
from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult, write_json
from builder.datasets.split import TRAIN, assign_splits, split_counts
from builder.datasets.targets import TargetCollector

MIN_DEFAULT_LENGTH = 8
MAX_DEFAULT_LENGTH = 512


def ingest_text(source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
    header = read_header(source, limits)
    splittable = check_utf8(source).splittable
    text_column, label_column = options["text_column"], options["label_column"]
    for role, name in (("text", text_column), ("label", label_column)):
        if name not in header:
            raise DatasetError(f"There is no {role} column {show_name(name)}. The columns are: {show_columns(header)}.")
    types = {text_column: pa.string(), label_column: pa.string()}
    include = [text_column, label_column]

    collector = TargetCollector(label_column, "classification", limits, allow_regression=False)
    rows = 0
    empty_texts = 0
    for batch in iter_batches(source, header, limits, column_types=types, include=include, splittable=splittable):
        collector.add(batch.column(label_column))
        empty_texts += batch.column(text_column).null_count
        rows += batch.num_rows
    if rows == 0:
        raise DatasetError("The file has a header row but no data rows.")
    target = collector.finish()
    split = assign_splits(rows, options["split"], options["seed"], labels=target.y, usable=target.usable)

    counts: Counter[str] = Counter()
    lengths: list[int] = []
    offset = 0
    for batch in iter_batches(source, header, limits, column_types=types, include=[text_column], splittable=splittable):
        texts = batch.column(text_column).to_pylist()
        for text, where in zip(texts, split[offset : offset + len(texts)], strict=True):
            if where == TRAIN:
                tokens = preprocessing.tokenize(text)
                counts.update(tokens)
                lengths.append(len(tokens))
        offset += len(texts)
    if not counts:
        raise DatasetError(f"The text column {text_column!r} has no words in the training rows.")
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    vocabulary = ["<pad>", "<oov>"] + [word for word, _ in ranked[: options["vocab_size"] - 2]]
    length = options.get("sequence_length") or int(
        min(max(np.percentile(lengths, 95), MIN_DEFAULT_LENGTH), MAX_DEFAULT_LENGTH)
    )
    doc: dict[str, Any] = {
        "format": preprocessing.FORMAT,
        "kind": "text",
        "task": "classification",
        "class_names": target.class_names,
        "text": {
            "column": text_column,
            "label_column": label_column,
            "normalize": "NFKC",
            "lowercase": True,
            "token_pattern": preprocessing.TOKEN_PATTERN,
            "vocabulary": vocabulary,
            "pad_index": preprocessing.PAD_INDEX,
            "oov_index": preprocessing.OOV_INDEX,
            "sequence_length": length,
            "truncate": "post",
            "pad": "post",
        },
        "input_shape": [length],
    }

    check_room(arrays_bytes(sum(split_counts(split).values()), (length,), np.int32, np.int64), out_dir, limits,
               hint="Upload fewer rows, or a shorter sequence_length.")  # fmt: skip
    writers = SplitWriters(out_dir, split_counts(split), (length,), np.int32, np.int64)
    offset = 0
    try:
        for batch in iter_batches(
            source, header, limits, column_types=types, include=[text_column], splittable=splittable
        ):
            n = batch.num_rows
            X = preprocessing.encode_texts(batch.column(text_column).to_pylist(), doc["text"])
            writers.write(split[offset : offset + n], X, target.y[offset : offset + n], np.arange(offset, offset + n))
            offset += n
    except BaseException:
        writers.abort()
        raise
    writers.close()
    write_json(out_dir / "preprocessing.json", doc)
    (out_dir / "thumbs").mkdir(exist_ok=True)

    truncated = sum(1 for n in lengths if n > length)
    profile = {
        "kind": "text",
        "rows": rows,
        "text_column": text_column,
        "label_column": label_column,
        "classes": [{"name": n, "count": c} for n, c in zip(target.class_names, target.class_counts, strict=True)],
        "empty_texts": empty_texts,
        "rows_without_label": target.missing,
        "tokens": {
            "distinct_in_training": len(counts),
            "vocabulary_size": len(vocabulary),
            "median_length": float(np.median(lengths)) if lengths else 0.0,
            "max_length": max(lengths) if lengths else 0,
            "sequence_length": length,
            "truncated_training_texts": truncated,
        },
        "splits": split_counts(split),
        "notes": [f"{target.missing:,} rows have no label and are left out."] if target.missing else [],
    }
    return IngestResult("classification", [length], target.class_names, profile, doc)
