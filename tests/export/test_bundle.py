"""The code bundle's contents: fixed scripts, pinned versions, reproducible zips.

No TensorFlow or torch here: these check what is written, not what it computes
(test_parity.py runs it).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from builder.codegen import (
    generate_dataio_module,
    generate_keras,
    generate_predict_script,
    generate_torch,
    generate_train_script,
)
from builder.codegen.guard import check_source
from builder.codegen.scripts import TEMPLATES, heads
from builder.datasets import csvsafe, preprocessing
from builder.datasets.kinds import get_kind
from tests.datasets.factories import png_bytes
from tests.export.helpers import tabular_case
from workers.training import bundle
from workers.training.export import ExportError, _compare, export_artifacts, library_versions

HOSTILE = "x'); __import__('os').system('echo owned') #\n\"\"\""


def hostile_case(tmp_path: Path) -> tuple[dict, dict]:
    case = tabular_case(tmp_path, np.random.default_rng(0))
    doc = dict(case.doc)
    doc["class_names"] = [HOSTILE, "=1+2", "@SUM(A1)"]
    doc["target_column"] = HOSTILE
    doc["features"] = [dict(f, name=HOSTILE + f["name"]) for f in doc["features"]]
    return case.spec, doc


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_scripts_are_fixed_files_whatever_the_data_says(framework: str, tmp_path: Path) -> None:
    spec, doc = hostile_case(tmp_path)
    source = generate_keras(spec) if framework == "keras" else generate_torch(spec)
    files = bundle.bundle_files(framework, source, spec, doc, library_versions(framework), {"epochs": 4})
    assert files["predict.py"] == generate_predict_script(spec, framework).encode()
    assert files["train.py"] == generate_train_script(spec, framework).encode()
    assert files["dataio.py"] == generate_dataio_module().encode()
    assert files["preprocessing.py"] == Path(preprocessing.__file__).read_bytes()
    assert files["csvsafe.py"] == Path(csvsafe.__file__).read_bytes()  # the one CSV-cell rule, shipped
    assert files["heads.py"] == Path(heads.__file__).read_bytes()  # the one reading of the output, shipped
    assert files["kindio.py"] == get_kind(doc["kind"]).bundle_modules()["kindio.py"].encode()  # the kind's reader
    assert files["model.py"] == source.encode()
    check_source(source)  # the model passes the same guard as in training
    for name, content in files.items():
        if name != "preprocessing.json":  # the data's own words live only in the JSON document
            assert b"__import__" not in content, name
    assert b'"epochs": 4' in files["training.json"]


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_requirements_pin_the_versions_the_export_used(framework: str) -> None:
    versions = library_versions(framework)
    lines = bundle.requirements_text(framework, versions).split()
    pinned = dict(line.split("==") for line in lines)
    assert set(pinned) == set(bundle.REQUIREMENTS[framework])
    for dist, version in pinned.items():
        assert versions["packages"][dist].split("+")[0] == version  # "+cpu" is not on PyPI
    assert versions["python"].count(".") == 2


def test_bundle_zip_depends_only_on_its_contents(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights")
    files = {"b.txt": b"two", "a.txt": b"one"}
    first = bundle.write_bundle(tmp_path / "one.zip", files, weights, "model.safetensors").read_bytes()
    second = bundle.write_bundle(tmp_path / "two.zip", dict(reversed(files.items())), weights, "model.safetensors")
    assert first == second.read_bytes()
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["code_bundle/a.txt", "code_bundle/b.txt", "code_bundle/model.safetensors"]


def test_outputs_that_differ_are_refused() -> None:
    expected = np.array([[0.2, 0.8]])
    assert _compare("x", expected, expected + 5e-5) == pytest.approx(5e-5)
    with pytest.raises(ExportError, match="predicts differently"):
        _compare("x", expected, expected + 2e-4)
    with pytest.raises(ExportError):
        _compare("x", expected, np.array([[np.nan, 0.8]]))


def test_unknown_framework_is_refused(tmp_path: Path) -> None:
    spec, doc = hostile_case(tmp_path)
    with pytest.raises(ExportError, match="keras or torch"):
        export_artifacts("jax", object(), spec, doc, tmp_path / "out", np.zeros((2, 5), "float32"))
    assert not (tmp_path / "out").exists()


def bundle_dataio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> Any:
    """The bundle's dataio.py, imported as predict.py imports it (next to preprocessing.py,
    csvsafe.py, heads.py and the kind's kindio.py)."""
    monkeypatch.setitem(sys.modules, "preprocessing", preprocessing)
    monkeypatch.setitem(sys.modules, "csvsafe", csvsafe)
    monkeypatch.setitem(sys.modules, "heads", heads)
    (tmp_path / "kindio.py").write_text(get_kind(kind).bundle_modules()["kindio.py"], encoding="utf-8")
    monkeypatch.setitem(sys.modules, "kindio", load(tmp_path / "kindio.py", "kindio"))
    return load(TEMPLATES / "dataio.py", "bundle_dataio")


def load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dataio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    return bundle_dataio(monkeypatch, tmp_path / "bundle", "tabular")


@pytest.fixture(autouse=True)
def _bundle_folder(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()


def test_each_kind_reads_its_files_as_the_upload_laid_them_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = tmp_path / "rows.csv"
    table.write_text("x,colour,label\n1.5,red,a\n2,,b\n3,blue,\n", encoding="utf-8")
    tabular = bundle_dataio(monkeypatch, tmp_path / "bundle", "tabular")
    doc = {"kind": "tabular", "target_column": "label", "class_names": ["a", "b"]}
    ids, records = tabular.read_inputs(doc, [table])
    assert ids == ["rows.csv:1", "rows.csv:2", "rows.csv:3"] and records[1] == {"x": "2", "colour": "", "label": "b"}
    rows, raw, target = sys.modules["kindio"].read_labelled(doc, table)
    assert (len(rows), raw, target) == (2, ["a", "b"], "label")  # the row without a label is left out

    texts = tmp_path / "texts.txt"
    texts.write_text("one text\nanother\n", encoding="utf-8")
    text = bundle_dataio(monkeypatch, tmp_path / "bundle", "text")
    doc = {"kind": "text", "text": {"column": "body", "label_column": "label"}}
    assert text.read_inputs(doc, [texts]) == (["texts.txt:1", "texts.txt:2"], ["one text", "another"])
    with pytest.raises(SystemExit, match="no column 'body'"):
        text.read_inputs(doc, [table])

    folder = tmp_path / "images"
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        (folder / name / "1.png").write_bytes(png_bytes((4, 4)))
    (folder / "notes.txt").write_text("not an image")
    images = bundle_dataio(monkeypatch, tmp_path / "bundle", "images")
    doc = {"kind": "images", "class_names": ["cats", "dogs"]}
    ids, records = images.read_inputs(doc, [folder])
    assert ids == [str(folder / "cats" / "1.png"), str(folder / "dogs" / "1.png")]
    assert sys.modules["kindio"].read_labelled(doc, folder)[1:] == (["cats", "dogs"], "class folder")
    with pytest.raises(SystemExit, match="no inputs found"):
        images.read_inputs(doc, [tmp_path / "bundle"])


def test_predictions_csv_for_classes_and_values(dataio: Any, tmp_path: Path) -> None:
    doc = {"task": "classification", "class_names": ["-1", "@x", "ok"]}
    outputs = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], dtype=np.float32)
    dataio.report(doc, "softmax", ["=cmd.png", "b.png"], outputs, tmp_path / "p.csv")
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    assert rows[0] == ["input", "label", "probability", "p(-1)", "p(@x)", "p(ok)"]
    assert rows[1][:3] == ["'=cmd.png", "'@x", "0.699999988"]  # formulas neutralised; float32 exact
    assert rows[2][1] == "-1"  # a number, not a formula

    dataio.report({"task": "regression"}, "linear", ["r1"], np.array([[-3.25]]), tmp_path / "r.csv")
    assert list(csv.reader((tmp_path / "r.csv").open())) == [["input", "prediction"], ["r1", "-3.25"]]
