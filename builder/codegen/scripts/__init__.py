"""The standalone train.py and predict.py that sit next to the generated model.py.

The scripts are fixed files in this folder, the same for every model: nothing from a spec
or a dataset is ever written into them. Everything model- or data-specific is read at run
time from JSON files next to them:

- ``preprocessing.json``: the dataset's fitted preprocessing (applied by preprocessing.py,
  the copy of builder.datasets.preprocessing that ships with them);
- ``bundle.json``: ``head`` (how to read the output: "softmax", "sigmoid" or "linear") and
  ``weights`` (the weights file name);
- ``training.json``: the job's settings, train.py's defaults (optimizer, learning_rate,
  batch_size, epochs, loss, seed, lr_schedule, class_weight, clipnorm, label_smoothing;
  any may be missing).

Both scripts import ``dataio.py`` (reading CSV, text and image files; writing predictions),
which ships with them (:func:`generate_dataio_module`); train.py also imports
``schedules.py`` (:func:`generate_schedules_module`), the learning-rate schedules and class
weights the job runners use too. workers.training.bundle packs them
into the downloadable code bundle. Pure Python: the files are read as text, never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builder.codegen.frameworks import NAMES
from builder.codegen.frameworks import framework as framework_named
from builder.codegen.scripts.heads import head
from builder.spec.report import ResolvedSpec
from builder.spec.validate import resolve

FRAMEWORKS = NAMES  # a train and a predict script for each
TEMPLATES = Path(__file__).resolve().parent


def output_kind(resolved: ResolvedSpec) -> str:
    """How every path reads the output: "softmax", "sigmoid" or "linear" (heads.py says what each means)."""
    return head(getattr(resolved.output.params, "activation", "linear"))


def output_units(resolved: ResolvedSpec) -> int:
    """Units of the last layer: 1 for a binary or regression head."""
    shape = resolved.output.output_shape
    return int(shape[-1]) if shape else 1


def generate_train_script(spec: Any, framework: str) -> str:
    """train.py: trains model.py again from raw files laid out like the upload."""
    return _script("train", spec, framework)


def generate_predict_script(spec: Any, framework: str) -> str:
    """predict.py: raw files in, a CSV of predictions out."""
    return _script("predict", spec, framework)


def generate_dataio_module() -> str:
    """dataio.py: the file handling both scripts import (the same for both frameworks)."""
    return _read("dataio.py")


def generate_heads_module() -> str:
    """heads.py: how the model's output is read, the same file every Layerloom path uses."""
    return _read("heads.py")


def generate_schedules_module() -> str:
    """schedules.py: the learning-rate schedules and class weights, shared with the job runners."""
    return _read("schedules.py")


def bundle_readme_template() -> str:
    """The bundle's README.md, a string.Template: how to install and run the scripts."""
    return _read("bundle_readme.md")


def _script(role: str, spec: Any, framework: str) -> str:
    framework_named(framework)  # ValueError naming the choices
    resolve(spec)  # scripts only for a spec that has a model.py (raises SpecValidationError)
    return _read(f"{role}_{framework}.py")


def _read(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")
