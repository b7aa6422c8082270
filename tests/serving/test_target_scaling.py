"""A standardised regression target ("target_scaling" in preprocessing.json) is turned back
into the target's units in every place a prediction leaves the product: the predict endpoint
(test_predict_api.py), test_predictions.csv and the bundle's predict.py."""

from __future__ import annotations

import csv
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.codegen.scripts import generate_dataio_module, generate_heads_module
from builder.datasets import csvsafe, preprocessing
from builder.datasets.kinds import get_kind
from workers.training.predictions import write_test_predictions

OUTPUTS = np.array([[-1.5], [0.0], [0.25]], dtype=np.float32)
DOC = {"format": 1, "kind": "tabular", "task": "regression", "target_column": "price", "features": []}
SCALED = {**DOC, "target_scaling": {"mean": 200.0, "std": 50.0}}


def test_target_values_are_identity_without_the_key():
    np.testing.assert_array_equal(preprocessing.unscale_target(DOC, OUTPUTS), OUTPUTS.astype(np.float64))
    np.testing.assert_allclose(preprocessing.unscale_target(SCALED, OUTPUTS), [[125.0], [200.0], [212.5]])


@pytest.mark.parametrize(("doc", "want"), [(DOC, [-1.5, 0.0, 0.25]), (SCALED, [125.0, 200.0, 212.5])])
def test_test_predictions_csv(tmp_path: Path, doc, want):
    path = write_test_predictions(tmp_path / "p.csv", doc, "regression", "linear", [], np.array([7, 8, 9]), OUTPUTS)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["id"]) for r in rows] == [7, 8, 9]
    assert [float(r["prediction"]) for r in rows] == pytest.approx(want)


def test_bundle_predict_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # dataio.py and the modules it imports, laid out as in the bundle
    for module in (preprocessing, csvsafe):
        (tmp_path / Path(module.__file__).name).write_text(Path(module.__file__).read_text(encoding="utf-8"))
    (tmp_path / "heads.py").write_text(generate_heads_module())
    (tmp_path / "dataio.py").write_text(generate_dataio_module())
    (tmp_path / "kindio.py").write_text(get_kind("tabular").bundle_modules()["kindio.py"])
    monkeypatch.syspath_prepend(str(tmp_path))
    names = ("dataio", "preprocessing", "csvsafe", "heads", "kindio")
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    try:
        dataio = importlib.import_module("dataio")
        dataio.report(SCALED, "linear", ["a", "b", "c"], OUTPUTS, tmp_path / "out.csv")
    finally:
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    with (tmp_path / "out.csv").open(newline="") as handle:
        assert [float(r["prediction"]) for r in csv.DictReader(handle)] == pytest.approx([125.0, 200.0, 212.5])
