"""manage.py validate_architecture and codegen, on the presets and the ground-truth models."""

from __future__ import annotations

import ast
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from builder.codegen.guard import check_source
from builder.spec import presets
from builder.spec.presets import ground_truth

SPECS = {**presets(), **{name: spec for name, (spec, _) in ground_truth().items()}}


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, spec: Any, name: str = "spec.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(spec))
    return str(path)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_validate_prints_the_table_for_every_preset(tmp_path: Path, name: str) -> None:
    code, out, _ = run("validate_architecture", write(tmp_path, SPECS[name]), "--batch-size", "16")
    assert code == 0
    assert "Total params:" in out and "batch size 16" in out
    for layer in SPECS[name]["layers"]:
        assert layer["id"] in out


@pytest.mark.parametrize("name, count", [(n, c) for n, (_, c) in sorted(ground_truth().items())])
def test_ground_truth_counts(tmp_path: Path, name: str, count: int) -> None:
    _, out, _ = run("validate_architecture", write(tmp_path, ground_truth()[name][0]))
    assert f"Total params: {count:,}" in out


def test_every_error_is_printed_and_exit_is_1(tmp_path: Path) -> None:
    spec = {"format": 1, "input": {"shape": [4]},
            "layers": [{"id": "a", "type": "Dense", "params": {"units": -1}}, {"id": "b", "type": "Conv2D"}]}  # fmt: skip
    code, out, err = run("validate_architecture", write(tmp_path, spec))
    assert code == 1 and out == ""
    assert "a.units:" in err and "b.filters:" in err and "b.kernel_size:" in err


def test_unreadable_and_non_json_files_are_explained(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Cannot read"):
        run("validate_architecture", str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(CommandError, match="not valid JSON"):
        run("codegen", str(bad), "--framework", "keras")


@pytest.mark.parametrize("framework, marker", [("keras", "def build_model"), ("torch", "(nn.Module)")])
@pytest.mark.parametrize("name", sorted(presets()))
def test_codegen_prints_a_module(tmp_path: Path, name: str, framework: str, marker: str) -> None:
    code, out, _ = run("codegen", write(tmp_path, SPECS[name]), "--framework", framework)
    assert code == 0 and marker in out
    ast.parse(out)  # a complete, syntactically valid module
    check_source(out)  # and one the import guard lets the workers load


def test_codegen_of_an_invalid_spec_generates_nothing(tmp_path: Path) -> None:
    code, out, err = run("codegen", write(tmp_path, {"format": 1, "layers": []}), "--framework", "torch")
    assert code == 1 and out == "" and "nothing generated" in err
