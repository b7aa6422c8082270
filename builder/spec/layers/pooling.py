"""Pooling layers: windowed max/average and global average."""

from __future__ import annotations

from pydantic import Field

from builder.spec.layers.conv import require_rank, window_error
from builder.spec.params import MAX_WINDOW, Padding, Params, Window2D
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape, conv_output_length, pair

PADDING_HELP = '"valid" (windows inside the input) or "same" (padded; size = ceil(input / strides)).'


class Pooling1DParams(Params):
    pool_size: int = Field(default=2, ge=1, le=MAX_WINDOW, description="Window length.")
    strides: int | None = Field(
        default=None, ge=1, le=MAX_WINDOW, description="Step between windows; null means pool_size."
    )
    padding: Padding = Field(default="valid", description=PADDING_HELP)


class Pooling2DParams(Params):
    pool_size: Window2D = Field(default=2, description="Window size: one integer or [height, width].")
    strides: Window2D | None = Field(default=None, description="Step between windows; null means pool_size.")
    padding: Padding = Field(default="valid", description=PADDING_HELP)


class Pooling1D(LayerType):
    category = "pooling"
    params_model = Pooling1DParams
    shape_rule = "(steps, features) -> (new_steps, features)"

    def output_shape(self, params: Pooling1DParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        require_rank(self.name, shape, 2, "use the 2-D pooling layer for images.")
        if params.pool_size > shape[0]:
            raise window_error("pool_size", "pool_size", params.pool_size, shape[0], "length", shape)
        strides = params.strides or params.pool_size
        return (conv_output_length(shape[0], params.pool_size, strides, params.padding), shape[1])


class Pooling2D(LayerType):
    category = "pooling"
    params_model = Pooling2DParams
    shape_rule = "(rows, cols, channels) -> (new_rows, new_cols, channels)"

    def output_shape(self, params: Pooling2DParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        require_rank(self.name, shape, 3, f"put {self.name} before the Flatten.")
        pool = pair(params.pool_size)
        strides = pair(params.strides) if params.strides is not None else pool
        for axis, name in enumerate(("height", "width")):
            if pool[axis] > shape[axis]:
                raise window_error("pool_size", "pool_size", pool[axis], shape[axis], name, shape)
        return (
            conv_output_length(shape[0], pool[0], strides[0], params.padding),
            conv_output_length(shape[1], pool[1], strides[1], params.padding),
            shape[2],
        )


@register
class MaxPooling1D(Pooling1D):
    name = "MaxPooling1D"
    help = "Maximum over windows along the time axis of a sequence."


@register
class MaxPooling2D(Pooling2D):
    name = "MaxPooling2D"
    help = "Maximum over spatial windows of an image, per channel."


@register
class AveragePooling2D(Pooling2D):
    name = "AveragePooling2D"
    help = 'Average over spatial windows of an image, per channel ("same" padding averages only real pixels).'


class GlobalPoolingParams(Params):
    pass


@register
class GlobalAveragePooling1D(LayerType):
    name = "GlobalAveragePooling1D"
    category = "pooling"
    help = "Average over the time axis: one vector per sequence."
    params_model = GlobalPoolingParams
    shape_rule = "(steps, features) -> (features,)"

    def output_shape(self, params: GlobalPoolingParams, inputs: list[Shape]) -> Shape:
        require_rank(self.name, inputs[0], 2, "use GlobalAveragePooling2D for images.")
        return (inputs[0][1],)


@register
class GlobalAveragePooling2D(LayerType):
    name = "GlobalAveragePooling2D"
    category = "pooling"
    help = "Average over height and width: one vector of channels per image."
    params_model = GlobalPoolingParams
    shape_rule = "(rows, cols, channels) -> (channels,)"

    def output_shape(self, params: GlobalPoolingParams, inputs: list[Shape]) -> Shape:
        require_rank(self.name, inputs[0], 3, "put it before the Flatten (it replaces Flatten).")
        return (inputs[0][2],)


@register
class GlobalMaxPooling1D(LayerType):
    name = "GlobalMaxPooling1D"
    category = "pooling"
    help = "Maximum over the time axis: one vector per sequence (each feature's strongest signal anywhere)."
    params_model = GlobalPoolingParams
    shape_rule = "(steps, features) -> (features,)"

    def output_shape(self, params: GlobalPoolingParams, inputs: list[Shape]) -> Shape:
        require_rank(self.name, inputs[0], 2, "use GlobalMaxPooling2D for images.")
        return (inputs[0][1],)


@register
class GlobalMaxPooling2D(LayerType):
    name = "GlobalMaxPooling2D"
    category = "pooling"
    help = "Maximum over height and width: one vector of channels per image."
    params_model = GlobalPoolingParams
    shape_rule = "(rows, cols, channels) -> (channels,)"

    def output_shape(self, params: GlobalPoolingParams, inputs: list[Shape]) -> Shape:
        require_rank(self.name, inputs[0], 3, "put it before the Flatten (it replaces Flatten).")
        return (inputs[0][2],)
