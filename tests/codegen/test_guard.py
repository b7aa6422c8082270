"""The AST guard admits the generated modules and refuses anything outside its allowlist."""

from __future__ import annotations

import pytest

from builder.codegen import generate_keras, generate_torch
from builder.codegen.guard import SCRIPT_POLICY, GuardError, check_source, load_module
from builder.spec import presets

HEADER = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\nimport keras\nfrom keras import layers\n"


@pytest.mark.parametrize("name", sorted(presets()))
def test_generated_sources_pass(name: str) -> None:
    spec = presets()[name]
    check_source(generate_keras(spec))
    check_source(generate_torch(spec))  # the scripts' check is in test_scripts.py


@pytest.mark.parametrize(
    "body",
    [
        "import os",
        "import subprocess as torch",
        "from os import system",
        "from . import model",
        "from torch import *",
        "__import__('os')",
        "eval('1 + 1')",
        "exec('x = 1')",
        "open('/etc/passwd')",
        "getattr(torch, 'load')",
        "x = ().__class__.__bases__",
        "torch.load('weights.pt')",
        "torch.hub.load('repo', 'model')",
        "keras.utils.get_file('x', 'http://example.com/x')",
        "nn.Module.__subclasses__()",
        "f = lambda: 1",
        "globals()['x'] = 1",
        "x = torch.ones(1)\nx.numpy().tofile('out')",
        "def f():\n    global y\n",
        "print('hello')",
        "layers.Lambda(lambda x: x)",
        "x = self._modules",
        "TABLE = {'x': print}\nTABLE['x']('hello')",
        "x = __file__",
    ],
)
def test_rejects_anything_outside_the_allowlist(body: str) -> None:
    with pytest.raises(GuardError):
        check_source(HEADER + body + "\n")


def test_rejects_unparsable_source() -> None:
    with pytest.raises(GuardError, match="does not parse"):
        check_source("def (:\n")


def test_guard_error_is_a_value_error() -> None:
    assert issubclass(GuardError, ValueError)


def test_script_policy_is_still_closed_to_dangerous_names() -> None:
    for body in ("import os", "eval('1')", "__import__('os')", "import subprocess"):
        with pytest.raises(GuardError):
            check_source(body + "\n", SCRIPT_POLICY)


def test_load_module_checks_then_runs_without_a_file() -> None:
    module = load_module("from __future__ import annotations\n\n\ndef build_model() -> int:\n    return 42\n", "tiny")
    assert module.build_model() == 42
    assert module.__name__ == "tiny"
    with pytest.raises(GuardError):
        load_module("import os\n", "evil")
