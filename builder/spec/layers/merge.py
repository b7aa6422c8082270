"""Merge layers: combine two or more inputs (residual and concatenating blocks)."""

from __future__ import annotations

from pydantic import Field, field_validator

from builder.spec.params import Params
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape, ShapeError, fmt


def shapes_text(inputs: list[Shape]) -> str:
    return ", ".join(fmt(s) for s in inputs)


class AddParams(Params):
    pass


@register
class Add(LayerType):
    name = "Add"
    category = "merge"
    help = "Element-wise sum of two or more inputs of the same shape (residual connections)."
    params_model = AddParams
    shape_rule = "n inputs of one shape -> that shape"
    min_inputs = 2
    max_inputs = None

    def output_shape(self, params: AddParams, inputs: list[Shape]) -> Shape:
        if any(s != inputs[0] for s in inputs):
            raise ShapeError(
                f"Add needs inputs of the same shape but gets {shapes_text(inputs)}; "
                "make the branches produce equal shapes (e.g. match filters/units, or add a 1x1 Conv2D "
                "or Dense projection on the shortcut)."
            )
        return inputs[0]


class ConcatenateParams(Params):
    axis: int = Field(
        default=-1,
        ge=-3,
        le=3,
        description="Axis to join along, counting the batch axis as 0 like Keras (-1: the last axis).",
    )

    @field_validator("axis")
    @classmethod
    def _not_batch(cls, value: int) -> int:
        if value == 0:
            raise ValueError("axis 0 is the batch axis; use -1 (last axis) or 1..rank")
        return value


@register
class Concatenate(LayerType):
    name = "Concatenate"
    category = "merge"
    help = "Joins two or more inputs along one axis; all other dimensions must be equal."
    params_model = ConcatenateParams
    shape_rule = "n inputs -> summed along axis"
    min_inputs = 2
    max_inputs = None

    def output_shape(self, params: ConcatenateParams, inputs: list[Shape]) -> Shape:
        rank = len(inputs[0])
        if any(len(s) != rank for s in inputs):
            raise ShapeError(
                f"Concatenate needs inputs of the same rank but gets {shapes_text(inputs)}; "
                "Flatten or Reshape the branches to the same number of dimensions."
            )
        axis = spec_axis(params.axis, rank)
        if axis is None:
            raise ShapeError(
                f"axis {params.axis} does not exist for inputs of rank {rank} (plus batch); "
                f"use -1 or a value in 1..{rank}.",
                param="axis",
            )
        for s in inputs:
            if s[:axis] + s[axis + 1 :] != inputs[0][:axis] + inputs[0][axis + 1 :]:
                raise ShapeError(
                    f"Concatenate along axis {params.axis} needs every other dimension equal but gets "
                    f"{shapes_text(inputs)}; concatenate along the axis that differs, or make the branches agree.",
                    param="axis",
                )
        return inputs[0][:axis] + (sum(s[axis] for s in inputs),) + inputs[0][axis + 1 :]


def spec_axis(axis: int, rank: int) -> int | None:
    """Keras axis (batch = 0) -> index into a shape without batch, or None if out of range."""
    position = axis + rank + 1 if axis < 0 else axis
    if not 1 <= position <= rank:
        return None
    return position - 1
