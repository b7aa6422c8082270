"""Parameter building blocks shared by the layer families.

Every parameter model is strict (JSON types only: ``"3"`` is not a number, ``true`` is
not 1) and forbids unknown keys, so a typo is reported instead of silently ignored.
The same models export JSON Schema for the web form and the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "leaky_relu", "selu", "silu")

ActivationName = Literal["linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "leaky_relu", "selu", "silu"]
Padding = Literal["valid", "same"]

# Upper bounds keep a single typo (units: 1000000) from producing a model that cannot be
# allocated; the whole-model parameter limit in validate.Limits is the real budget.
MAX_UNITS = 65_536
MAX_FILTERS = 4_096
MAX_WINDOW = 64
MAX_DIM = 1_000_000

Window = Annotated[int, Field(ge=1, le=MAX_WINDOW)]
Window2D = Window | Annotated[list[Window], Field(min_length=2, max_length=2)]


class Params(BaseModel):
    """Base for every layer's parameters."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


def activation_field(default: Any = "linear", description: str = "Activation applied to the output.") -> Any:
    """A Field for an activation name; pass ``default=...`` to make it required."""
    return Field(default=default, description=description)
