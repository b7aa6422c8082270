"""Core layers: Dense, Dropout, Activation, Flatten, Reshape, Embedding, PositionalEmbedding."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, field_validator

from builder.spec.params import MAX_DIM, MAX_UNITS, ActivationName, Params, activation_field
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape, ShapeError, fmt, prod


class DenseParams(Params):
    units: int = Field(ge=1, le=MAX_UNITS, description="Number of output units (neurons).")
    activation: ActivationName = activation_field()
    use_bias: bool = Field(default=True, description="Whether to add a learned bias vector.")


@register
class Dense(LayerType):
    name = "Dense"
    category = "core"
    help = "Fully connected layer: output = activation(input @ kernel + bias), applied to the last axis."
    params_model = DenseParams
    shape_rule = "(..., features) -> (..., units)"

    def output_shape(self, params: DenseParams, inputs: list[Shape]) -> Shape:
        return inputs[0][:-1] + (params.units,)

    def param_counts(self, params: DenseParams, inputs: list[Shape]) -> tuple[int, int]:
        features = inputs[0][-1]
        return (features * params.units + (params.units if params.use_bias else 0), 0)


class DropoutParams(Params):
    rate: float = Field(ge=0.0, lt=1.0, description="Fraction of the inputs to drop during training, in [0, 1).")


@register
class Dropout(LayerType):
    name = "Dropout"
    category = "core"
    help = "Randomly sets a fraction `rate` of the inputs to 0 during training; does nothing at inference."
    params_model = DropoutParams
    shape_rule = "unchanged"

    def output_shape(self, params: DropoutParams, inputs: list[Shape]) -> Shape:
        return inputs[0]


class ActivationParams(Params):
    activation: ActivationName = activation_field(default=..., description="Activation function to apply.")


@register
class Activation(LayerType):
    name = "Activation"
    category = "core"
    help = "Applies an activation function element-wise (softmax: over the last axis)."
    params_model = ActivationParams
    shape_rule = "unchanged"

    def output_shape(self, params: ActivationParams, inputs: list[Shape]) -> Shape:
        return inputs[0]


class FlattenParams(Params):
    pass


@register
class Flatten(LayerType):
    name = "Flatten"
    category = "core"
    help = "Flattens everything but the batch axis into one vector, in channels-last (row-major) order."
    params_model = FlattenParams
    shape_rule = "(d1, d2, ...) -> (d1 * d2 * ...,)"

    def output_shape(self, params: FlattenParams, inputs: list[Shape]) -> Shape:
        return (prod(inputs[0]),)


class ReshapeParams(Params):
    target_shape: list[Annotated[int, Field(ge=-1, le=MAX_DIM)]] = Field(
        min_length=1,
        max_length=3,
        description="New shape without the batch axis, 1 to 3 entries; one entry may be -1 to infer it.",
    )

    @field_validator("target_shape")
    @classmethod
    def _one_unknown_no_zero(cls, value: list[int]) -> list[int]:
        if 0 in value:
            raise ValueError("entries must be positive (or a single -1)")
        if value.count(-1) > 1:
            raise ValueError("at most one entry may be -1")
        return value


@register
class Reshape(LayerType):
    name = "Reshape"
    category = "core"
    help = "Reshapes the input (channels-last, row-major order) to `target_shape`; the element count must not change."
    params_model = ReshapeParams
    shape_rule = "(...) -> target_shape"

    def output_shape(self, params: ReshapeParams, inputs: list[Shape]) -> Shape:
        total = prod(inputs[0])
        known = math.prod(d for d in params.target_shape if d != -1)
        if -1 in params.target_shape:
            if total % known:
                raise ShapeError(
                    f"cannot reshape {fmt(inputs[0])} ({total} values) to {params.target_shape}: "
                    f"{total} is not divisible by {known}; choose a target_shape whose known entries divide {total}.",
                    param="target_shape",
                )
            return tuple(total // known if d == -1 else d for d in params.target_shape)
        if known != total:
            raise ShapeError(
                f"cannot reshape {fmt(inputs[0])} ({total} values) to {fmt(tuple(params.target_shape))} "
                f"({known} values); the product of target_shape must be {total} (or use -1 for one entry).",
                param="target_shape",
            )
        return tuple(params.target_shape)


class EmbeddingParams(Params):
    input_dim: int = Field(ge=1, le=10_000_000, description="Vocabulary size: token ids must be in [0, input_dim).")
    output_dim: int = Field(ge=1, le=MAX_UNITS, description="Size of each embedding vector.")


@register
class Embedding(LayerType):
    name = "Embedding"
    category = "core"
    help = "Turns integer token ids into dense vectors; must read the model input directly (a sequence of ids)."
    params_model = EmbeddingParams
    shape_rule = "(timesteps,) -> (timesteps, output_dim)"
    # Token ids only exist at the model input; validate.py enforces this.
    needs_model_input = True

    def output_shape(self, params: EmbeddingParams, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 1:
            raise ShapeError(
                f"{self.name} needs a 1-D input of token ids (timesteps,) but gets {fmt(inputs[0])}; "
                "set the model input shape to [sequence_length].",
            )
        return (inputs[0][0], params.output_dim)

    def param_counts(self, params: EmbeddingParams, inputs: list[Shape]) -> tuple[int, int]:
        return (params.input_dim * params.output_dim, 0)


@register
class PositionalEmbedding(Embedding):
    """Embedding's parameters, shape rule and token-id input, with a second table for positions."""

    name = "PositionalEmbedding"
    help = (
        "Embedding plus a learned embedding of each position, added together (the input of a Transformer "
        "encoder, which otherwise cannot tell word order); one position vector per input step, so the "
        "sequence length comes from the input shape. Must read the model input directly (a sequence of ids)."
    )
    torch_note = (
        "both frameworks write the same small PositionalEmbedding class into the model module, holding two "
        "embedding tables, tokens (input_dim, output_dim) and positions (timesteps, output_dim); "
        "load a saved model.keras with model.py imported (the class registers itself with Keras)."
    )

    def param_counts(self, params: EmbeddingParams, inputs: list[Shape]) -> tuple[int, int]:
        # One vector per token id and one per position.
        return ((params.input_dim + inputs[0][0]) * params.output_dim, 0)


@register
class SpatialDropout1D(LayerType):
    name = "SpatialDropout1D"
    category = "core"
    help = (
        "Dropout of whole feature channels of a sequence during training (the same channels at every step), "
        "for embeddings and Conv1D outputs whose neighbouring steps are alike; does nothing at inference."
    )
    params_model = DropoutParams
    shape_rule = "unchanged (steps, features)"

    def output_shape(self, params: DropoutParams, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 2:
            raise ShapeError(
                f"SpatialDropout1D needs a sequence (timesteps, features) but gets {fmt(inputs[0])}; "
                "use SpatialDropout2D for images or Dropout for vectors."
            )
        return inputs[0]


@register
class SpatialDropout2D(LayerType):
    name = "SpatialDropout2D"
    category = "core"
    help = (
        "Dropout of whole feature maps of an image during training (a channel is dropped everywhere), "
        "for convolution outputs whose neighbouring pixels are alike; does nothing at inference."
    )
    params_model = DropoutParams
    shape_rule = "unchanged (rows, cols, channels)"

    def output_shape(self, params: DropoutParams, inputs: list[Shape]) -> Shape:
        if len(inputs[0]) != 3:
            raise ShapeError(
                f"SpatialDropout2D needs an image (height, width, channels) but gets {fmt(inputs[0])}; "
                "use SpatialDropout1D for sequences or Dropout for vectors."
            )
        return inputs[0]
