"""The frameworks a model is generated for and trained with: the one list every part asks.

Pure Python (names, labels and the code generators): the web process, codegen, management
commands and the workers import it without TensorFlow or torch. What a framework does at
training time (device, loop, export) is its backend, in workers/training/backends/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from builder.codegen.keras import generate_keras, keras_source
from builder.codegen.torch import generate_torch, torch_source
from builder.spec.report import ResolvedSpec


@dataclass(frozen=True)
class Framework:
    name: str  # what jobs, the API and the CLI call it
    label: str  # what a person reads (forms, the admin)
    library: str  # the library named in the bundle's README
    job_source: str  # the generated module's filename in a job's folder
    generate: Callable[[Any], str]  # a spec (validated on the way) -> the model module
    source: Callable[[ResolvedSpec], str]  # an already resolved spec -> the model module


KERAS = Framework("keras", "Keras (TensorFlow)", "Keras", "model_keras.py", generate_keras, keras_source)
TORCH = Framework("torch", "PyTorch", "PyTorch", "model_torch.py", generate_torch, torch_source)

FRAMEWORKS: dict[str, Framework] = {f.name: f for f in (KERAS, TORCH)}
NAMES: tuple[str, ...] = tuple(FRAMEWORKS)
DEFAULT = KERAS.name
CHOICES: list[tuple[str, str]] = [(f.name, f.label) for f in FRAMEWORKS.values()]


def framework(name: str) -> Framework:
    """The framework called `name`; ValueError naming the choices otherwise."""
    try:
        return FRAMEWORKS[name]
    except KeyError:
        raise ValueError(f"framework must be {' or '.join(NAMES)}, not {name!r}") from None
