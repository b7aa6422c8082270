"""Shape arithmetic shared by the layer definitions and the code generators.

Shapes never include the batch dimension and are channels-last, as in the spec.
"""

from __future__ import annotations

import math

Shape = tuple[int, ...]


class ShapeError(ValueError):
    """A layer cannot accept the shape it is given; the message says how to fix it."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def fmt(shape: Shape | None) -> str:
    """Render a shape the way Keras prints it, e.g. ``(28, 28, 1)`` or ``(10,)``."""
    if shape is None:
        return "(unknown)"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def pair(value: int | list[int] | tuple[int, ...]) -> tuple[int, int]:
    """Keras accepts ``3`` or ``[3, 3]`` for 2-D sizes; normalise to a tuple."""
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def conv_output_length(length: int, kernel: int, stride: int, padding: str) -> int:
    """Output length of a convolution or pooling window along one axis (Keras rules)."""
    if padding == "same":
        return math.ceil(length / stride)
    return (length - kernel) // stride + 1


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zero padding (before, after) that TensorFlow's "same" uses; the odd one goes after."""
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def prod(shape: Shape) -> int:
    return math.prod(shape)
