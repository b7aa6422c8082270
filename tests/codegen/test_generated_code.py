"""Generated sources are ruff-clean, readable and built only from validated values."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from builder.codegen import (
    generate_keras,
    generate_torch,
    torch_input_permutation,
)
from builder.spec import SpecValidationError, presets
from builder.spec.presets import ground_truth
from tests.codegen.cases import case_ids

ALL_SPECS: dict[str, dict[str, Any]] = (
    presets() | {name: spec for name, (spec, _) in ground_truth().items()} | dict(case_ids())
)


def test_generated_code_is_ruff_clean(tmp_path: Path) -> None:
    for name, spec in ALL_SPECS.items():
        stem = name.replace("-", "_")
        (tmp_path / f"{stem}_keras.py").write_text(generate_keras(spec))
        (tmp_path / f"{stem}_torch.py").write_text(generate_torch(spec))
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--output-format", "concise"]
    command += ["--select", "E,F,W,I,B,UP,BLE,S102,S307", "--line-length", "120", "--target-version", "py311"]
    command += [str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sequential_for_a_chain_functional_for_a_dag() -> None:
    chain = generate_keras(presets()["small_cnn"])
    assert "keras.Sequential(" in chain and "keras.Model(" not in chain.split("def build_model")[1]
    dag = generate_keras(presets()["residual_cnn"])
    assert "keras.Model(inputs=inputs, outputs=out" in dag
    assert 'block1_add = layers.Add(name="block1_add")([stem, block1_bn])' in dag


def test_torch_module_reads_like_hand_written_code() -> None:
    source = generate_torch(ground_truth()["mnist_convnet"][0])
    assert "class MnistConvnet(nn.Module):" in source
    assert "self.conv1 = nn.Conv2d(1, 32, kernel_size=3)" in source
    assert "self.out = nn.Linear(1600, 10)" in source
    assert "x.permute(0, 2, 3, 1).flatten(1)" in source
    assert "return torch.softmax" not in source and "torch.softmax(self.out(x), dim=-1)" in source
    assert "INPUT_SHAPE = (1, 28, 28)" in source
    assert "INPUT_PERMUTATION = (0, 3, 1, 2)" in source


def test_input_permutation() -> None:
    assert torch_input_permutation(presets()["small_cnn"]) == (0, 3, 1, 2)
    assert torch_input_permutation(presets()["mlp"]) is None
    assert torch_input_permutation(presets()["text_lstm"]) is None


def test_string_constants_are_only_validated_words() -> None:
    for spec in ALL_SPECS.values():
        for source in (generate_keras(spec), generate_torch(spec)):
            tree = ast.parse(source)
            # Docstrings are fixed text of ours; every other string comes from the spec.
            docstrings = {
                ast.get_docstring(node)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value not in docstrings:
                    assert node.value.replace("_", "").replace(".", "").isalnum(), node.value


def test_codegen_refuses_an_invalid_spec() -> None:
    bad = {"format": 1, "input": {"shape": [4]}, "layers": [{"id": "x y", "type": "Dense"}]}
    for generate in (generate_keras, generate_torch, torch_input_permutation):
        with pytest.raises(SpecValidationError) as info:
            generate(bad)
        assert info.value.errors and "x y" in str(info.value)


def test_spec_name_never_reaches_source_as_text() -> None:
    spec = presets()["mlp"]
    spec["name"] = 'evil"); __import__("os").system("true"); ("'
    keras_source, torch_source = generate_keras(spec), generate_torch(spec)
    assert "__import__" not in keras_source + torch_source
    assert 'name="evil_import_os_system_true"' in keras_source
    assert "class EvilImportOsSystemTrue(nn.Module):" in torch_source


def test_reserved_names_cover_torch_module_attributes() -> None:
    from torch import nn

    from builder.spec.naming import TORCH_MODULE_ATTRIBUTES

    public = {name for name in dir(nn.Module()) if not name.startswith("_")}
    assert public <= TORCH_MODULE_ATTRIBUTES
