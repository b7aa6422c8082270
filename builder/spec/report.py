"""What validation returns: errors, a per-layer report, and the resolved spec for codegen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from builder.spec.params import Params
from builder.spec.registry import LayerType
from builder.spec.shapes import Shape, prod


@dataclass(frozen=True)
class SpecError:
    """One problem with a spec: where it is and what would fix it."""

    layer_id: str | None
    param: str | None
    message: str
    code: str
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer_id": self.layer_id,
            "param": self.param,
            "message": self.message,
            "code": self.code,
            "path": self.path,
        }

    def __str__(self) -> str:
        where = self.layer_id or self.path or "spec"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LayerReport:
    id: str
    type: str
    output_shape: Shape
    trainable_params: int
    non_trainable_params: int
    inputs: tuple[str, ...] = ()
    torch_extra_params: int = 0

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "torch_extra_params": self.torch_extra_params,
        }


@dataclass(frozen=True)
class ResolvedLayer:
    """A validated layer: typed parameters, resolved inputs and shapes. Codegen reads these."""

    id: str
    type: str
    definition: LayerType
    params: Params
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape


@dataclass(frozen=True)
class ResolvedSpec:
    name: str
    input_shape: Shape
    input_dtype: str  # "float32", or "int32" when the input is token ids for an Embedding
    layers: tuple[ResolvedLayer, ...]

    @property
    def output(self) -> ResolvedLayer:
        return self.layers[-1]

    @property
    def is_chain(self) -> bool:
        """Each layer reads only the one before it: a Sequential model."""
        previous = "input"
        for layer in self.layers:
            if layer.inputs != (previous,):
                return False
            previous = layer.id
        return True


@dataclass
class SpecReport:
    ok: bool
    errors: list[SpecError] = field(default_factory=list)
    layers: list[LayerReport] = field(default_factory=list)
    name: str = "model"
    input_shape: Shape | None = None
    output_shape: Shape | None = None
    trainable_params: int = 0
    non_trainable_params: int = 0
    torch_extra_params: int = 0
    batch_size: int = 32
    memory_estimate_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    resolved: ResolvedSpec | None = field(default=None, repr=False)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def values_per_sample(self) -> int:
        """Values one sample puts through the model: its input and every layer's output. A
        prediction holds at most these at once per sample, so a batch's activations are bounded
        by batch size times this (times 4 bytes, float32)."""
        values = prod(self.input_shape) if self.input_shape else 0
        return values + sum(prod(layer.output_shape) for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [e.to_dict() for e in self.errors],
            "name": self.name,
            "input_shape": list(self.input_shape) if self.input_shape is not None else None,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "layers": [layer.to_dict() for layer in self.layers],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "torch_extra_params": self.torch_extra_params,
            "batch_size": self.batch_size,
            "memory_estimate_bytes": self.memory_estimate_bytes,
            "notes": list(self.notes),
        }


class SpecValidationError(ValueError):
    """Raised by code that needs a valid spec (codegen); carries every error."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        lines = "\n".join(f"- {e}" for e in errors[:20])
        more = f"\n(and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"the architecture spec is not valid:\n{lines}{more}")
