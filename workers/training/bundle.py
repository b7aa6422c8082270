"""The downloadable code bundle: model.py + weights + scripts that run without Layerloom.

The scripts come from builder.codegen.scripts and the dataset kind's bundle_modules (fixed
files, so no user text ever becomes code): every model- or dataset-specific value is read at
run time from JSON files written here (preprocessing.json, bundle.json, training.json). Pure
Python: nothing here imports TensorFlow or torch; export.py hands over the weights file it wrote.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import string
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from builder.codegen.scripts import (
    bundle_readme_template,
    generate_dataio_module,
    generate_heads_module,
    generate_predict_script,
    generate_schedules_module,
    generate_train_script,
    output_kind,
)
from builder.datasets import csvsafe as csvsafe_module
from builder.datasets import preprocessing as preprocessing_module
from builder.datasets.kinds import DatasetKind, kind_of
from builder.spec.validate import resolve
from workers import baseline_summary

FOLDER = "code_bundle"  # the one folder the zip unpacks into
WEIGHTS = {"keras": "model.weights.h5", "torch": "model.safetensors"}
# What each framework's bundle imports, by distribution name (installed version pinned).
REQUIREMENTS = {
    "keras": ("tensorflow", "keras", "h5py", "numpy", "pillow"),
    "torch": ("torch", "safetensors", "numpy", "pillow"),
}
TRAINING_KEYS = ("optimizer", "learning_rate", "batch_size", "epochs", "loss", "seed", "lr_schedule", "class_weight",
                 "clipnorm", "label_smoothing", "patience")  # fmt: skip
# A fixed timestamp makes the zip depend only on its contents (same weights, same bytes).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def requirements_text(framework: str, versions: Mapping[str, Any], extra: tuple[str, ...] = ()) -> str:
    """The framework's packages and the dataset kind's (``extra``), each pinned to the version used."""
    packages = versions["packages"]
    lines = []
    for dist in (*REQUIREMENTS[framework], *(d for d in extra if d not in REQUIREMENTS[framework])):
        version = packages.get(dist) or _installed(dist)
        if version is None:
            continue
        # "2.13.0+cpu" is a local build tag pip cannot find on PyPI; the release is the same.
        lines.append(f"{dist}=={version.split('+')[0]}")
    return "\n".join(lines) + "\n"


def readme_text(
    framework: str, kind: DatasetKind, versions: Mapping[str, Any], evaluation: Mapping[str, Any] | None = None
) -> str:
    """evaluation: the job's, when known; its figures and baselines become the "How good it is" section."""
    predict, train = kind.bundle_commands
    note = ""
    if framework == "torch" and "+cpu" in versions["packages"].get("torch", ""):
        release = versions["packages"]["torch"].split("+")[0]
        note = (
            "\nThe model was exported with the CPU build of PyTorch. For that smaller build, install it\n"
            f"first: `pip install torch=={release} --index-url https://download.pytorch.org/whl/cpu`.\n"
        )
    values = {
        "framework_name": "Keras" if framework == "keras" else "PyTorch",
        "weights": WEIGHTS[framework],
        "weights_format": "Keras weights, HDF5" if framework == "keras" else "a state dict in safetensors",
        "python_version": versions.get("python", platform.python_version()),
        "install_note": note,
        "predict_example": predict,
        "train_example": train,
        "evaluation_section": baseline_summary.markdown(dict(evaluation or {})),
    }
    return string.Template(bundle_readme_template()).substitute(values)


def bundle_files(
    framework: str,
    model_source: str,
    spec: Mapping[str, Any],
    preprocessing: Mapping[str, Any],
    versions: Mapping[str, Any],
    hyperparameters: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """Name -> contents of every text file in the bundle (the weights are added by the caller)."""
    if framework not in WEIGHTS:
        raise ValueError(f"framework must be keras or torch, not {framework!r}")
    settings = {k: hyperparameters[k] for k in TRAINING_KEYS if hyperparameters and k in hyperparameters}
    kind = kind_of(preprocessing)
    bundle_info = {
        "format": 1,
        "framework": framework,
        "head": output_kind(resolve(spec)),
        "weights": WEIGHTS[framework],
        "input_layout": "channels-last, as preprocessing.py returns it",
    }
    texts = {
        "model.py": model_source,
        "predict.py": generate_predict_script(spec, framework),
        "train.py": generate_train_script(spec, framework),
        "dataio.py": generate_dataio_module(),
        "heads.py": generate_heads_module(),
        "schedules.py": generate_schedules_module(),
        "preprocessing.py": Path(preprocessing_module.__file__).read_text(encoding="utf-8"),
        "csvsafe.py": Path(csvsafe_module.__file__).read_text(encoding="utf-8"),
        "preprocessing.json": _json(preprocessing),
        "bundle.json": _json(bundle_info),
        "training.json": _json(settings),
        "versions.json": _json(versions),
        "requirements.txt": requirements_text(framework, versions, kind.bundle_requirements),
        "README.md": readme_text(framework, kind, versions, evaluation),
        **kind.bundle_modules(),  # kindio.py: how the kind's files are read (dataio.py calls it)
    }
    return {name: text.encode("utf-8") for name, text in texts.items()}


def _installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def write_bundle(path: Path, files: Mapping[str, bytes], weights: Path, weights_name: str) -> Path:
    """Write the zip: files sorted by name under one folder, fixed dates and permissions."""
    entries = dict(files)
    entries[weights_name] = weights.read_bytes()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            archive.writestr(_entry(f"{FOLDER}/{name}"), entries[name])
    return path


def zip_directory(path: Path, source: Path, prefix: str) -> Path:
    """Zip a folder (a SavedModel) reproducibly, its files under ``prefix``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            archive.writestr(_entry(f"{prefix}/{file.relative_to(source).as_posix()}"), file.read_bytes())
    return path


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
