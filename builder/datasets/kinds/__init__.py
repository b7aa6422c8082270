"""The registry of dataset kinds: one DatasetKind per kind of data, looked up by name.

Everything outside a kind's own module(s) asks here (``get_kind(dataset.kind)``,
``kind_of(doc)``) and uses what the kind declares; nothing compares a kind's name.

Adding a kind: write its module(s) in this package (a DatasetKind subclass, see base.py and
docs/datasets.md "Dataset kinds: the contract") and register it in REGISTERED below, the one
registration point. The order there is the order of the upload page's choices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from builder.datasets.kinds.base import (
    DatasetKind,
    Example,
    InputProblems,
    PredictFields,
    PresetFacts,
    SampleMedia,
    input_name,
)

__all__ = [
    "DatasetKind",
    "Example",
    "InputProblems",
    "PredictFields",
    "PresetFacts",
    "SampleMedia",
    "UnknownKind",
    "all_kinds",
    "get_kind",
    "input_name",
    "kind_choices",
    "kind_names",
    "kind_of",
    "register",
    "transform_records",
]

_KINDS: dict[str, DatasetKind] = {}


class UnknownKind(KeyError):
    """A kind name nobody registered; the message lists the ones there are."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(kind: DatasetKind) -> DatasetKind:
    """Add a kind (an instance); a second kind with the same name is a programming error."""
    if not getattr(kind, "name", ""):
        raise ValueError(f"{type(kind).__name__} has no name")
    if kind.name in _KINDS:
        raise ValueError(f"a dataset kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> DatasetKind:
    """The kind registered under ``name``; UnknownKind (a KeyError) naming the choices otherwise."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise UnknownKind(f"unknown dataset kind {name!r}; the kinds are: {', '.join(_KINDS)}") from None


def kind_of(doc: Mapping[str, Any]) -> DatasetKind:
    """The kind that wrote a preprocessing document (its "kind")."""
    return get_kind(str(doc.get("kind")))


def all_kinds() -> list[DatasetKind]:
    """Every registered kind, in registration order."""
    return list(_KINDS.values())


def kind_names() -> tuple[str, ...]:
    return tuple(_KINDS)


def kind_choices() -> list[tuple[str, str]]:
    """(name, label) pairs for a model field, a serializer's ChoiceField or a form."""
    return [(kind.name, kind.label) for kind in _KINDS.values()]


def transform_records(doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
    """Raw inputs -> the model's input batch, exactly as the training arrays were made.

    Raises preprocessing.InputError with a message naming the bad value (an unsupported
    document format or an unknown kind included).
    """
    from builder.datasets import preprocessing

    preprocessing.check_format(doc)
    try:
        kind = kind_of(doc)
    except UnknownKind as exc:
        raise preprocessing.InputError(str(exc)) from None
    return kind.transform(doc, records)


# --- the registration point -------------------------------------------------------------
from builder.datasets.kinds.audio import AudioKind  # noqa: E402 - the kinds import base above
from builder.datasets.kinds.images import ImagesKind  # noqa: E402
from builder.datasets.kinds.tabular import TabularKind  # noqa: E402
from builder.datasets.kinds.text import TextKind  # noqa: E402

REGISTERED: tuple[DatasetKind, ...] = (TabularKind(), ImagesKind(), TextKind(), AudioKind())
for _kind in REGISTERED:
    register(_kind)
