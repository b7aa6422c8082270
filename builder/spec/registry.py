"""The layer registry: one entry per layer type a spec may use.

Each entry is a :class:`LayerType` subclass registered with :func:`register`. It owns the
type's parameter model (which doubles as JSON Schema for the form and API), a pure shape
function, and a parameter count; the code generators look layers up by the same name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from builder.spec.params import Params
from builder.spec.shapes import Shape

CATEGORIES = (
    "core",
    "convolution",
    "pooling",
    "normalization",
    "recurrent",
    "attention",
    "merge",
    "augmentation",
)


class LayerType:
    """What the registry knows about one layer type.

    Subclasses set the class attributes and override :meth:`output_shape` and
    :meth:`param_counts`; both are pure functions of the parameters and input shapes.
    """

    name: ClassVar[str]
    category: ClassVar[str]
    help: ClassVar[str]
    params_model: ClassVar[type[Params]]
    shape_rule: ClassVar[str]
    # Most layers take one input; merge layers take two or more.
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # Differences between frameworks, for the report and the docs.
    torch_note: ClassVar[str] = ""

    def output_shape(self, params: Any, inputs: list[Shape]) -> Shape:
        raise NotImplementedError

    def param_counts(self, params: Any, inputs: list[Shape]) -> tuple[int, int]:
        """(trainable, non-trainable) weights as Keras counts them."""
        return (0, 0)

    def torch_extra_params(self, params: Any, inputs: list[Shape]) -> int:
        """Parameters the torch module carries beyond Keras's (e.g. LSTM's second bias)."""
        return 0

    def json_schema(self) -> dict[str, Any]:
        return self.params_model.model_json_schema()


L = TypeVar("L", bound=type[LayerType])


class Registry(Mapping[str, LayerType]):
    """Layer type name -> definition, in registration order (the palette order)."""

    def __init__(self) -> None:
        self._types: dict[str, LayerType] = {}

    def register(self, cls: L) -> L:
        if cls.name in self._types:
            raise ValueError(f"layer type {cls.name!r} is registered twice")
        if cls.category not in CATEGORIES:
            raise ValueError(f"layer type {cls.name!r} has unknown category {cls.category!r}")
        self._types[cls.name] = cls()
        return cls

    def __getitem__(self, name: str) -> LayerType:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        # Palette order: by category, then in registration order within it.
        return iter(sorted(self._types, key=lambda name: CATEGORIES.index(self._types[name].category)))

    def __len__(self) -> int:
        return len(self._types)


REGISTRY = Registry()
register = REGISTRY.register


def layer_catalog() -> list[dict[str, Any]]:
    """The palette for the web form and the API: one entry per layer type."""
    return [
        {
            "type": layer.name,
            "category": layer.category,
            "help": layer.help,
            "shape_rule": layer.shape_rule,
            "min_inputs": layer.min_inputs,
            "max_inputs": layer.max_inputs,
            "json_schema": layer.json_schema(),
        }
        for layer in REGISTRY.values()
    ]


# The layer modules register themselves on import; keep this last.
from builder.spec import layers as _layers  # noqa: E402,F401
