"""Normalization layers over the channel (last) axis."""

from __future__ import annotations

from pydantic import Field

from builder.spec.params import Params
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape


class BatchNormalizationParams(Params):
    momentum: float = Field(
        default=0.99, ge=0.0, le=1.0, description="Keras momentum of the moving statistics (torch uses 1 - momentum)."
    )
    epsilon: float = Field(default=0.001, gt=0.0, le=1.0, description="Small constant added to the variance.")


@register
class BatchNormalization(LayerType):
    name = "BatchNormalization"
    category = "normalization"
    help = "Normalizes each channel with batch statistics in training and moving averages at inference."
    params_model = BatchNormalizationParams
    shape_rule = "unchanged"
    torch_note = (
        "torch keeps the moving mean and variance as buffers (running_mean, running_var) and also a "
        "num_batches_tracked counter, which is not a weight and is not counted."
    )

    def output_shape(self, params: BatchNormalizationParams, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def param_counts(self, params: BatchNormalizationParams, inputs: list[Shape]) -> tuple[int, int]:
        channels = inputs[0][-1]
        # gamma and beta train; moving mean and variance do not.
        return (2 * channels, 2 * channels)


class LayerNormalizationParams(Params):
    epsilon: float = Field(default=0.001, gt=0.0, le=1.0, description="Small constant added to the variance.")


@register
class LayerNormalization(LayerType):
    name = "LayerNormalization"
    category = "normalization"
    help = "Normalizes each sample over its last axis, then scales and shifts it."
    params_model = LayerNormalizationParams
    shape_rule = "unchanged"

    def output_shape(self, params: LayerNormalizationParams, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def param_counts(self, params: LayerNormalizationParams, inputs: list[Shape]) -> tuple[int, int]:
        return (2 * inputs[0][-1], 0)
