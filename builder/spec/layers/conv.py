"""Convolution layers: Conv1D over sequences, Conv2D over images."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from builder.spec.params import MAX_FILTERS, MAX_WINDOW, ActivationName, Padding, Params, Window2D, activation_field
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape, ShapeError, conv_output_length, fmt, pair


def window_error(kind: str, param: str, window: int, length: int, axis: str, shape: Shape) -> ShapeError:
    return ShapeError(
        f"{param} {window} is larger than the input {axis} {length} (input {fmt(shape)}); "
        f"use a {kind} of at most {length}, or remove a downsampling layer before this one.",
        param=param,
    )


def require_rank(layer: str, shape: Shape, rank: int, hint: str) -> None:
    if len(shape) != rank:
        expected = {2: "a sequence (timesteps, features)", 3: "an image (height, width, channels)"}[rank]
        raise ShapeError(f"{layer} needs {expected} but gets {fmt(shape)}; {hint}")


class Conv1DParams(Params):
    filters: int = Field(ge=1, le=MAX_FILTERS, description="Number of output channels.")
    kernel_size: int = Field(ge=1, le=MAX_WINDOW, description="Length of the convolution window.")
    strides: int = Field(default=1, ge=1, le=MAX_WINDOW, description="Step between windows.")
    padding: Padding = Field(
        default="valid", description='"valid" (no padding) or "same" (pad so length = ceil(input / strides)).'
    )
    activation: ActivationName = activation_field()
    use_bias: bool = Field(default=True, description="Whether to add a learned bias per filter.")


@register
class Conv1D(LayerType):
    name = "Conv1D"
    category = "convolution"
    help = "1-D convolution over the time axis of a sequence (timesteps, features)."
    params_model = Conv1DParams
    shape_rule = "(steps, channels) -> (new_steps, filters)"

    def output_shape(self, params: Conv1DParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        require_rank("Conv1D", shape, 2, "use Conv2D for images, or add a Reshape to (timesteps, features) first.")
        if params.kernel_size > shape[0]:
            raise window_error("kernel_size", "kernel_size", params.kernel_size, shape[0], "length", shape)
        return (conv_output_length(shape[0], params.kernel_size, params.strides, params.padding), params.filters)

    def param_counts(self, params: Conv1DParams, inputs: list[Shape]) -> tuple[int, int]:
        weights = params.kernel_size * inputs[0][-1] * params.filters
        return (weights + (params.filters if params.use_bias else 0), 0)


class Conv2DParams(Params):
    filters: int = Field(ge=1, le=MAX_FILTERS, description="Number of output channels.")
    kernel_size: Window2D = Field(description="Window size: one integer or [height, width].")
    strides: Window2D = Field(default=1, description="Step between windows: one integer or [height, width].")
    padding: Padding = Field(
        default="valid", description='"valid" (no padding) or "same" (pad so size = ceil(input / strides)).'
    )
    activation: ActivationName = activation_field()
    use_bias: bool = Field(default=True, description="Whether to add a learned bias per filter.")


@register
class Conv2D(LayerType):
    name = "Conv2D"
    category = "convolution"
    help = "2-D convolution over an image (height, width, channels)."
    params_model = Conv2DParams
    shape_rule = "(rows, cols, channels) -> (new_rows, new_cols, filters)"

    def output_shape(self, params: Conv2DParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        require_rank(
            "Conv2D", shape, 3, "put Conv2D before the Flatten, or Reshape the input to (height, width, channels)."
        )
        kernel, strides = pair(params.kernel_size), pair(params.strides)
        for axis, name in enumerate(("height", "width")):
            if kernel[axis] > shape[axis]:
                raise window_error("kernel_size", "kernel_size", kernel[axis], shape[axis], name, shape)
        return (
            conv_output_length(shape[0], kernel[0], strides[0], params.padding),
            conv_output_length(shape[1], kernel[1], strides[1], params.padding),
            params.filters,
        )

    def param_counts(self, params: Conv2DParams, inputs: list[Shape]) -> tuple[int, int]:
        kh, kw = pair(params.kernel_size)
        weights = kh * kw * inputs[0][-1] * params.filters
        return (weights + (params.filters if params.use_bias else 0), 0)


class Conv2DTransposeParams(Params):
    filters: int = Field(ge=1, le=MAX_FILTERS, description="Number of output channels.")
    kernel_size: Window2D = Field(description="Window size: one integer or [height, width].")
    strides: Window2D = Field(default=1, description="Upsampling factor: one integer or [height, width].")
    padding: Padding = Field(
        default="valid",
        description='"valid" (size = (input - 1) * strides + kernel_size) or "same" (size = input * strides).',
    )
    activation: ActivationName = activation_field()
    use_bias: bool = Field(default=True, description="Whether to add a learned bias per filter.")


@register
class Conv2DTranspose(LayerType):
    name = "Conv2DTranspose"
    category = "convolution"
    help = "Transposed 2-D convolution (learned upsampling) of an image: the gradient of a Conv2D."
    params_model = Conv2DTransposeParams
    shape_rule = "(rows, cols, channels) -> (rows * strides, cols * strides, filters) with same padding"

    def output_shape(self, params: Conv2DTransposeParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        require_rank(self.name, shape, 3, "put it before the Flatten, or Reshape to (height, width, channels).")
        kernel, strides = pair(params.kernel_size), pair(params.strides)
        if params.padding == "same":
            for axis in range(2):
                if kernel[axis] < strides[axis]:
                    raise ShapeError(
                        f"with padding \"same\" kernel_size {list(kernel)} must be at least strides {list(strides)} "
                        "on each axis; use a larger kernel_size or padding \"valid\".",
                        param="kernel_size",
                    )
            return (shape[0] * strides[0], shape[1] * strides[1], params.filters)
        return (
            (shape[0] - 1) * strides[0] + kernel[0],
            (shape[1] - 1) * strides[1] + kernel[1],
            params.filters,
        )

    def param_counts(self, params: Conv2DTransposeParams, inputs: list[Shape]) -> tuple[int, int]:
        kh, kw = pair(params.kernel_size)
        weights = kh * kw * inputs[0][-1] * params.filters
        return (weights + (params.filters if params.use_bias else 0), 0)


class UpSampling2DParams(Params):
    size: Window2D = Field(default=2, description="Upsampling factor: one integer or [height, width].")
    interpolation: Literal["nearest", "bilinear"] = Field(
        default="nearest", description='"nearest" repeats pixels; "bilinear" interpolates between them.'
    )


@register
class UpSampling2D(LayerType):
    name = "UpSampling2D"
    category = "convolution"
    help = "Enlarges an image by whole factors, repeating (nearest) or interpolating (bilinear) pixels; no weights."
    params_model = UpSampling2DParams
    shape_rule = "(rows, cols, channels) -> (rows * size, cols * size, channels)"

    def output_shape(self, params: UpSampling2DParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        require_rank(self.name, shape, 3, "put it before the Flatten, or Reshape to (height, width, channels).")
        size = pair(params.size)
        return (shape[0] * size[0], shape[1] * size[1], shape[2])
