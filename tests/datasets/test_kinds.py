"""The dataset-kind registry: every registered kind keeps the contract, and the rest of the
code asks the registry instead of naming a kind."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from django.template.loader import get_template

from builder.datasets.kinds import (
    DatasetKind,
    UnknownKind,
    all_kinds,
    get_kind,
    kind_choices,
    kind_names,
    register,
    transform_records,
)
from builder.datasets.kinds.base import PredictFields
from builder.datasets.options import DEFAULTS, validate_options
from builder.datasets.preprocessing import InputError
from builder.models import Dataset

ROOT = Path(__file__).resolve().parents[2]
WIDGETS = {"table", "text", "file"}
KINDS = [pytest.param(kind, id=kind.name) for kind in all_kinds()]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_declares_what_the_pages_and_the_api_read(kind: DatasetKind) -> None:
    assert not inspect.isabstract(type(kind))
    assert re.fullmatch(r"[a-z][a-z0-9_]{0,15}", kind.name)  # fits Dataset.kind (max_length 16)
    for text in (kind.label, kind.description, kind.predict_title, kind.predict_doc, kind.samples_label):
        assert isinstance(text, str) and text.strip()
    assert kind.upload_accept and all(a.startswith(".") or "/" in a for a in kind.upload_accept)
    assert re.fullmatch(r"upload\.[a-z0-9]+", kind.source_name)
    assert not set(kind.option_defaults) & set(DEFAULTS)  # split and seed are everyone's
    assert validate_options(kind.name, {}) == {**DEFAULTS, **kind.option_defaults}
    assert kind.predict_widget in WIDGETS
    assert isinstance(kind.predict_fields, PredictFields) and kind.predict_fields.many != kind.predict_fields.one
    for template in (kind.predict_template, kind.sample_template, kind.options_template):
        if template is not None:
            get_template(template)  # exists and parses
    predict, train = kind.bundle_commands
    assert predict.startswith("python predict.py ") and train.startswith("python train.py ")
    assert "kindio.py" in kind.bundle_modules()
    assert kind.public()["name"] == kind.name


def test_the_registry_names_its_kinds_and_refuses_unknown_or_doubled_ones() -> None:
    assert kind_names()[:3] == ("tabular", "images", "text")  # the upload page's order
    assert [name for name, _ in kind_choices()] == list(kind_names())
    assert Dataset._meta.get_field("kind").choices == kind_choices()  # no migration for a new kind
    with pytest.raises(UnknownKind, match="unknown dataset kind 'video'; the kinds are: tabular, images, text"):
        get_kind("video")
    with pytest.raises(ValueError, match="already registered"):
        register(get_kind("text"))
    with pytest.raises(InputError, match="unknown dataset kind 'nope'"):
        transform_records({"format": 1, "kind": "nope"}, [])


# Comparing a value with a kind's name: `kind == "images"`, `"text" !== kind`, `Kind.IMAGES`
# (on a line that speaks of a kind: `widget === "text"` is the predict page's widget).
def comparisons(names: tuple[str, ...]) -> re.Pattern[str]:
    quoted = "|".join(re.escape(n) for n in names)
    return re.compile(rf"""(==|!=)=?\s*["']({quoted})["']|["']({quoted})["']\s*(==|!=)|Kind\.(TABULAR|IMAGES|TEXT)\b""")


# A line that compares another kind of thing: schema_form.js's control kinds ("text" input).
OTHER_KINDS = {"static/js/builder/schema_form.js"}


def test_no_code_outside_the_kinds_compares_a_kinds_name() -> None:
    pattern = comparisons(kind_names())
    found = []
    for folder in ("api", "builder", "client", "serving", "webapp", "workers", "templates", "static/js"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".js", ".html"} or "kinds" in path.parts or "migrations" in path.parts:
                continue
            if str(path.relative_to(ROOT)) in OTHER_KINDS:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and "kind" in line.lower():
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_pattern_finds_what_it_is_meant_to() -> None:
    pattern = comparisons(kind_names())
    for line in ('if kind == "images":', "kind === 'text'", '"tabular" != doc["kind"]', 'kind() === "images" ? a : b',
                 "Dataset.Kind.IMAGES"):  # fmt: skip
        assert pattern.search(line) and "kind" in line.lower(), line
    for line in (
        'el("input", {type: "text"})',
        '"kind": "tabular"',
        'role === "textarea"',
        'if self.kind == "sigmoid"',
    ):
        assert not (pattern.search(line) and "kind" in line.lower()), line
