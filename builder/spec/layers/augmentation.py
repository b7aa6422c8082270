"""Image augmentation layers: random changes to each training image, nothing at inference.

They let a small image set look larger: every epoch sees each image flipped, turned,
zoomed or with its contrast changed by a new random amount. Outside training (validation,
evaluation, exported files, predict.py) they pass the image through unchanged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from builder.spec.layers.conv import require_rank
from builder.spec.params import Params
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape

TORCH_NOTE = (
    "the same kind of random change, drawn per image in forward() while the module is training; "
    "the random numbers (and for rotation and zoom, the resampling details) differ from Keras's."
)


class Augmentation(LayerType):
    category = "augmentation"
    shape_rule = "unchanged (rows, cols, channels)"
    torch_note = TORCH_NOTE

    def output_shape(self, params: Params, inputs: list[Shape]) -> Shape:
        require_rank(self.name, inputs[0], 3, "augmentation layers work on images; put them right after the input.")
        return inputs[0]


class RandomFlipParams(Params):
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = Field(
        default="horizontal_and_vertical", description="Which flips may happen, each with probability 1/2."
    )


@register
class RandomFlip(Augmentation):
    name = "RandomFlip"
    help = "Training only: flips each image left-right and/or upside down at random."
    params_model = RandomFlipParams


class RandomRotationParams(Params):
    factor: float = Field(
        gt=0.0, le=0.5, examples=[0.1], description="Largest turn as a fraction of a full circle: 0.1 turns up to 36 degrees either way."
    )


@register
class RandomRotation(Augmentation):
    name = "RandomRotation"
    help = "Training only: turns each image by a random angle; the corners are filled by reflection."
    params_model = RandomRotationParams


class RandomZoomParams(Params):
    height_factor: float = Field(
        gt=0.0, lt=1.0, examples=[0.2], description="Largest zoom as a fraction of the size: 0.2 zooms between 20% in and 20% out."
    )


@register
class RandomZoom(Augmentation):
    name = "RandomZoom"
    help = "Training only: zooms each image in or out by a random amount (same for height and width)."
    params_model = RandomZoomParams


class RandomContrastParams(Params):
    factor: float = Field(
        gt=0.0, lt=1.0, examples=[0.2], description="Contrast is multiplied by a random value in [1 - factor, 1 + factor]."
    )
    value_range: list[float] = Field(
        default=[0.0, 1.0], min_length=2, max_length=2, description="The pixel range results are clipped to."
    )

    @field_validator("value_range")
    @classmethod
    def _low_below_high(cls, value: list[float]) -> list[float]:
        if value[0] >= value[1]:
            raise ValueError("give [low, high] with low below high, e.g. [0, 1] for images as Layerloom prepares them")
        return value


@register
class RandomContrast(Augmentation):
    name = "RandomContrast"
    help = "Training only: scales each image's contrast around its per-channel mean by a random factor."
    params_model = RandomContrastParams
