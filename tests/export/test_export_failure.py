"""An export that fails part-way leaves no files behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.export import helpers
from workers.training import export


@pytest.mark.slow
def test_failed_export_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = helpers.tabular_case(tmp_path, np.random.default_rng(1))
    model, _ = helpers.build("torch", case.spec, seed=1)
    out = tmp_path / "artifacts"
    out.mkdir()
    (out / "metrics.csv").write_text("epoch\n1\n")  # written before the export; must survive it

    def diverging(path: Path, sample: np.ndarray, reference: np.ndarray) -> None:
        export._compare("ONNX model (ONNX Runtime)", reference, reference + 1.0)

    monkeypatch.setattr(export, "_check_onnx", diverging)
    with pytest.raises(export.ExportError, match="ONNX model .* predicts differently"):
        export.export_artifacts("torch", model, case.spec, case.doc, out, case.x[:2])
    assert [p.name for p in out.iterdir()] == ["metrics.csv"]
