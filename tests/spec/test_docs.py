"""docs/architecture-format.md is generated from the registry and committed up to date."""

from __future__ import annotations

from pathlib import Path

from builder.spec import REGISTRY
from builder.spec.docs import render_architecture_docs
from builder.spec.validate import ERROR_CODES

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture-format.md"


def test_committed_doc_matches_registry() -> None:
    assert DOC.read_text(encoding="utf-8") == render_architecture_docs(), (
        "docs/architecture-format.md is stale: run python scripts/gen_architecture_docs.py"
    )


def test_doc_documents_every_type_parameter_and_error_code() -> None:
    text = render_architecture_docs()
    for name, layer in REGISTRY.items():
        assert f"#### {name}\n" in text
        for param in layer.params_model.model_fields:
            assert f"| `{param}` |" in text
    for code in ERROR_CODES:
        assert f"| `{code}` |" in text
    assert "bias_hh" in text  # the LSTM parameter difference is stated
