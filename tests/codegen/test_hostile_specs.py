"""Hostile specs get validation errors, never an exception, and never run code.

Hypothesis throws quotes, newlines, code fragments, huge numbers, unicode and deep
nesting at validation and codegen. Any spec that does validate is generated, guarded and
executed; a canary file that the payloads try to create must never appear.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.codegen import generate_keras, generate_torch
from builder.codegen.guard import check_source, load_module
from builder.spec import presets, validate_spec

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CANARY = Path(tempfile.gettempdir()) / f"layerloom-canary-{os.getpid()}"
PAYLOADS = [
    f"__import__('pathlib').Path({str(CANARY)!r}).touch()",
    f'relu"); __import__("os").system("touch {CANARY}"); ("',
    f"relu'\nimport os\nos.system('touch {CANARY}')\n#",
    f'"""\nopen({str(CANARY)!r}, "w")\n"""',
    "conv1\n    import os",
    "a; import os",
    "__class__",
    "__init__",
    "self",
    "input",
    "\\",
    "\x00",
    "\u202e",
    "Dense\u200b",
    "ＤＥＮＳＥ",  # noqa: RUF001 - full-width letters on purpose
    "é",
    "😀",
    "x" * 5000,
    "{}",
    "",
]
MAX_EXECUTED_PARAMS = 200_000

text = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=30))
scalar = st.one_of(
    text,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
json_value = st.recursive(
    scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


def check_report(spec: Any) -> None:
    """Validation returns a report (errors or a valid model); a valid one generates safely."""
    report = validate_spec(spec)
    json.dumps(report.to_dict())
    assert all(error.code != "internal_error" for error in report.errors), report.errors
    if not report.ok:
        assert report.errors
        return
    keras_source, torch_source = generate_keras(spec), generate_torch(spec)
    for source in (keras_source, torch_source):
        check_source(source)
        for payload in PAYLOADS[:4]:
            assert payload not in source
    if report.total_params <= MAX_EXECUTED_PARAMS:
        load_module(keras_source, "hostile_keras")  # module level only: imports and constants
        load_module(torch_source, "hostile_torch").build_model()


def set_path(document: Any, path: list[Any], value: Any) -> None:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def paths(document: Any, prefix: list[Any] | None = None) -> list[list[Any]]:
    """Every location in a JSON document, to aim a hostile value at."""
    prefix = prefix or []
    found: list[list[Any]] = []
    items = (
        document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else []
    )
    for key, value in items:
        found.append([*prefix, key])
        found.extend(paths(value, [*prefix, key]))
    return found


PRESET_SPECS = list(presets().values())


@pytest.fixture(scope="module", autouse=True)
def canary() -> Any:
    import torch  # noqa: F401 - imported once here so examples stay fast

    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "hostile input ran code"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_value)
def test_arbitrary_json_never_crashes(document: Any) -> None:
    check_report(document)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_presets_never_crash_or_inject(data: st.DataObject) -> None:
    spec = copy.deepcopy(data.draw(st.sampled_from(PRESET_SPECS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(paths(spec)))
        set_path(spec, path, data.draw(json_value))
    check_report(spec)


@settings(max_examples=50, deadline=None)
@given(layer_id=text, layer_type=text, name=text, param=text, value=scalar)
def test_hostile_names_and_values(layer_id: str, layer_type: str, name: str, param: str, value: Any) -> None:
    spec = {
        "format": 1,
        "name": name,
        "input": {"shape": [8]},
        "layers": [
            {"id": layer_id, "type": "Dense", "params": {"units": 2, param: value}},
            {"id": "out", "type": layer_type, "params": {"units": 2, "activation": value}},
        ],
    }
    check_report(spec)


def test_deep_nesting_and_cycles_in_values() -> None:
    deep: Any = 1
    for _ in range(50_000):
        deep = [deep]
    looped: list[Any] = []
    looped.append(looped)
    spec = presets()["mlp"]
    for bad in (deep, looped, {"a": deep}):
        spec["layers"][0]["params"]["units"] = bad
        check_report(spec)
        spec["layers"][0]["inputs"] = bad
        check_report(spec)
        check_report({"format": 1, "input": {"shape": bad}, "layers": bad})
    check_report(deep)


def test_valid_hostile_name_still_executes_safely() -> None:
    spec = presets()["mlp"]
    spec["name"] = PAYLOADS[1]
    check_report(spec)
