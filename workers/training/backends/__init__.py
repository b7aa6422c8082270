"""The training backends, one per framework, behind one contract (base.Backend).

The registry maps a framework's name (builder/codegen/frameworks.py) to the module that
implements it; a backend's module, and with it TensorFlow or torch, is imported only when
that backend is asked for, so importing this package imports neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from builder.codegen.frameworks import framework

if TYPE_CHECKING:
    from workers.training.backends.base import Backend

MODULES = {"keras": "workers.training.backends.keras", "torch": "workers.training.backends.torch"}


def backend_class(name: str) -> type[Backend]:
    """The backend of the framework called `name` (its module imported now)."""
    framework(name)  # ValueError naming the choices
    return importlib.import_module(MODULES[name]).BACKEND  # type: ignore[no-any-return]
