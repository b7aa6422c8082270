"""Imports point downward (DESIGN.md's dependency rules), read from the source, not by running it.

spec/ and codegen/ are a pure library; builder is below workers, serving and api; the web
side reaches the job's child process only by starting it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports(package: str) -> dict[str, set[str]]:
    """Each module file under package (a folder) with the top-level names it imports, at any depth."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in imports(package).items()
        for name in names
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    )


# The bundle's train and predict scripts run on the person's machine, with their framework.
BUNDLE_SCRIPTS = ("train_keras.py", "train_torch.py", "predict_keras.py", "predict_torch.py")


@pytest.mark.parametrize("package", ["builder/spec", "builder/codegen"])
def test_spec_and_codegen_are_pure_python(package: str) -> None:
    forbidden = ("django", "rest_framework", "tensorflow", "keras", "torch", "workers", "serving", "api", "webapp")
    found = offending(package, forbidden + ("builder.models", "builder.datasets"))
    assert [line for line in found if line.split()[0].rsplit("/", 1)[-1] not in BUNDLE_SCRIPTS] == []


def test_builder_never_imports_the_apps_above_it() -> None:
    assert offending("builder", ("workers", "serving", "api")) == []


@pytest.mark.parametrize("package", ["serving", "api", "webapp"])
def test_the_web_side_never_imports_the_training_child(package: str) -> None:
    assert offending(package, ("workers.training",)) == []


def test_the_rule_sees_an_import_inside_a_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    from workers.deletion import delete_dataset\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert offending("pkg", ("workers",)) == ["pkg/mod.py imports workers.deletion"]
