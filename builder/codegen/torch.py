"""torch.nn source for a validated spec.

Layout: the spec is channels-last, torch is channels-first. Inside the generated module
an image (height, width, channels) is held as NCHW, as torch users expect; sequences stay
(N, timesteps, features) (batch_first), and vectors (N, features). Layers that work on the
last axis in Keras (Dense, LayerNormalization, Flatten, Reshape) permute an NCHW tensor to
NHWC around themselves, so the numbers are the same as Keras's. In particular Flatten
permutes back to NHWC before flattening: the element order matches Keras, and Dense
weights convert with a plain transpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from builder.codegen.source import MAX_LINE, call, literal, name
from builder.spec.naming import class_name
from builder.spec.report import ResolvedLayer, ResolvedSpec
from builder.spec.shapes import Shape, pair, same_padding
from builder.spec.validate import resolve

# forward() statements sit two levels deep in the class.
FORWARD_INDENT = 8

TO_LAST = ".permute(0, 2, 3, 1)"  # NCHW -> NHWC
TO_FIRST = ".permute(0, 3, 1, 2)"  # NHWC -> NCHW

Emitted = tuple[str | None, list[str]]  # (module expression for __init__, forward statements)
Emitter = Callable[[ResolvedLayer, list[str], str], Emitted]
EMITTERS: dict[str, Emitter] = {}


def emits(*types: str) -> Callable[[Emitter], Emitter]:
    def decorate(func: Emitter) -> Emitter:
        for layer_type in types:
            EMITTERS[layer_type] = func
        return func

    return decorate


def torch_input_permutation(spec: Any) -> tuple[int, ...] | None:
    """Axes permutation from a channels-last batch to the generated model's input layout."""
    return input_permutation(resolve(spec).input_shape)


def input_permutation(shape: Shape) -> tuple[int, ...] | None:
    return (0, 3, 1, 2) if len(shape) == 3 else None


def torch_shape(shape: Shape) -> Shape:
    """A spec shape as the generated torch module holds it (images channels-first)."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else shape


def activation(expr: str, act: str, rank: int) -> str:
    """Apply a Keras activation by name; softmax runs over the channel axis like Keras's."""
    simple = {
        "relu": "torch.relu",
        "sigmoid": "torch.sigmoid",
        "tanh": "torch.tanh",
        "gelu": "F.gelu",
        "elu": "F.elu",
        "selu": "F.selu",
        "silu": "F.silu",
    }
    if act == "linear":
        return expr
    if act in simple:
        return f"{simple[act]}({expr})"
    if act == "softmax":
        return f"torch.softmax({expr}, dim={1 if rank == 3 else -1})"
    if act == "leaky_relu":
        return f"F.leaky_relu({expr}, 0.2)"  # Keras's default negative slope (torch's is 0.01)
    raise ValueError(f"no torch activation for {act!r}")


def assign(out: str, expr: str, source: str) -> list[str]:
    return [] if expr == source == out else [f"{out} = {expr}"]


def last_axis(expr: str, rank: int, inner: Callable[[str], str]) -> str:
    """Run ``inner`` on the last (channel) axis; images are permuted to NHWC and back."""
    if rank == 3:
        return inner(expr + TO_LAST) + TO_FIRST
    return inner(expr)


def padding_2d(layer: ResolvedLayer, kernel: tuple[int, int], strides: tuple[int, int]) -> tuple[int, int, int, int]:
    """Keras "same" zero padding as (left, right, top, bottom), F.pad's order."""
    if layer.params.padding != "same":  # type: ignore[attr-defined]
        return (0, 0, 0, 0)
    height, width = layer.input_shapes[0][0], layer.input_shapes[0][1]
    top, bottom = same_padding(height, kernel[0], strides[0])
    left, right = same_padding(width, kernel[1], strides[1])
    return (left, right, top, bottom)


def size(value: tuple[int, int]) -> str:
    return literal(value[0]) if value[0] == value[1] else literal(value)


# -- core -------------------------------------------------------------------------------


@emits("Dense")
def dense(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    rank = len(layer.input_shapes[0])
    kwargs = {} if p.use_bias else {"bias": "False"}
    module = call("nn.Linear", [literal(layer.input_shapes[0][-1]), literal(p.units)], kwargs)
    expr = last_axis(ins[0], rank, lambda x: f"self.{layer.id}({x})")
    return module, assign(out, activation(expr, p.activation, rank), ins[0])


@emits("Dropout")
def dropout(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    return call("nn.Dropout", [literal(layer.params.rate)]), [f"{out} = self.{layer.id}({ins[0]})"]  # type: ignore[attr-defined]


@emits("Activation")
def activation_layer(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    rank = len(layer.input_shapes[0])
    return None, assign(out, activation(ins[0], layer.params.activation, rank), ins[0])  # type: ignore[attr-defined]


@emits("Flatten")
def flatten(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    rank = len(layer.input_shapes[0])
    if rank == 1:
        return None, assign(out, ins[0], ins[0])
    if rank == 2:
        return None, [f"{out} = {ins[0]}.flatten(1)"]
    return None, [
        "# Flatten channels-last, like Keras, so the next Dense layer's weights carry over as they are.",
        f"{out} = {ins[0]}{TO_LAST}.flatten(1)",
    ]


@emits("Reshape")
def reshape(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    source = ins[0] + (TO_LAST if len(layer.input_shapes[0]) == 3 else "")
    dims = ", ".join(literal(d) for d in layer.output_shape)
    expr = f"{source}.reshape(-1, {dims})" + (TO_FIRST if len(layer.output_shape) == 3 else "")
    return None, [f"{out} = {expr}"]


@emits("Embedding")
def embedding(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    module = call("nn.Embedding", [literal(p.input_dim), literal(p.output_dim)])
    return module, [f"{out} = self.{layer.id}({ins[0]}.long())"]


# The same class as the Keras module's (torch has no built-in one either): two tables, one
# vector per token id and one per position, added together.
POSITIONAL_EMBEDDING_CLASS = '''
class PositionalEmbedding(nn.Module):
    """Token embeddings plus a learned embedding of each position, added together."""

    def __init__(self, input_dim: int, output_dim: int, sequence_length: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(input_dim, output_dim)
        self.positions = nn.Embedding(sequence_length, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tokens(x.long()) + self.positions.weight
'''
HELPER_CLASSES = {"PositionalEmbedding": POSITIONAL_EMBEDDING_CLASS}


@emits("PositionalEmbedding")
def positional_embedding(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    args = [literal(p.input_dim), literal(p.output_dim)]
    module = call("PositionalEmbedding", args, {"sequence_length": literal(layer.input_shapes[0][0])})
    return module, [f"{out} = self.{layer.id}({ins[0]})"]


# -- normalization ----------------------------------------------------------------------


@emits("BatchNormalization")
def batch_norm(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    shape = layer.input_shapes[0]
    cls = "nn.BatchNorm2d" if len(shape) == 3 else "nn.BatchNorm1d"
    # torch's momentum weighs the new batch; Keras's weighs the moving average.
    kwargs = {"eps": literal(p.epsilon), "momentum": literal(round(1.0 - p.momentum, 10))}
    module = call(cls, [literal(shape[-1])], kwargs)
    if len(shape) == 2:  # BatchNorm1d wants (N, C, L)
        expr = f"self.{layer.id}({ins[0]}.transpose(1, 2)).transpose(1, 2)"
    else:
        expr = f"self.{layer.id}({ins[0]})"
    return module, [f"{out} = {expr}"]


@emits("LayerNormalization")
def layer_norm(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    shape = layer.input_shapes[0]
    module = call("nn.LayerNorm", [literal(shape[-1])], {"eps": literal(layer.params.epsilon)})  # type: ignore[attr-defined]
    return module, [f"{out} = {last_axis(ins[0], len(shape), lambda x: f'self.{layer.id}({x})')}"]


# -- convolution and pooling ------------------------------------------------------------


@emits("Conv1D")
def conv1d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    length, channels = layer.input_shapes[0]
    kwargs = {"kernel_size": literal(p.kernel_size)}
    if p.strides != 1:
        kwargs["stride"] = literal(p.strides)
    source = f"{ins[0]}.transpose(1, 2)"  # (N, L, C) -> (N, C, L)
    if p.padding == "same":
        before, after = same_padding(length, p.kernel_size, p.strides)
        if before == after and before:
            kwargs["padding"] = literal(before)
        elif before != after:
            source = f"F.pad({source}, {literal((before, after))})"
    if not p.use_bias:
        kwargs["bias"] = "False"
    module = call("nn.Conv1d", [literal(channels), literal(p.filters)], kwargs)
    expr = activation(f"self.{layer.id}({source}).transpose(1, 2)", p.activation, 2)
    return module, [f"{out} = {expr}"]


@emits("Conv2D")
def conv2d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    kernel, strides = pair(p.kernel_size), pair(p.strides)
    kwargs = {"kernel_size": size(kernel)}
    if strides != (1, 1):
        kwargs["stride"] = size(strides)
    left, right, top, bottom = padding_2d(layer, kernel, strides)
    source = ins[0]
    if left == right and top == bottom:
        if left or top:
            kwargs["padding"] = size((top, left))
    else:
        # TensorFlow puts the odd row/column of "same" padding at the bottom/right.
        source = f"F.pad({source}, {literal((left, right, top, bottom))})"
    if not p.use_bias:
        kwargs["bias"] = "False"
    module = call("nn.Conv2d", [literal(layer.input_shapes[0][-1]), literal(p.filters)], kwargs)
    return module, [f"{out} = {activation(f'self.{layer.id}({source})', p.activation, 3)}"]


@emits("MaxPooling2D", "AveragePooling2D")
def pool2d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    average = layer.type == "AveragePooling2D"
    pool = pair(p.pool_size)
    strides = pair(p.strides) if p.strides is not None else pool
    args, kwargs = [size(pool)], {}
    if strides != pool:
        kwargs["stride"] = size(strides)
    left, right, top, bottom = padding_2d(layer, pool, strides)
    pads = literal((left, right, top, bottom))
    statements: list[str]
    if left == right and top == bottom:
        if left or top:
            kwargs["padding"] = size((top, left))
            if average:
                kwargs["count_include_pad"] = "False"  # Keras averages real pixels only
        statements = [f"{out} = self.{layer.id}({ins[0]})"]
    elif average:
        statements = [
            '# Uneven "same" padding: sum over the zero-padded input, divide by the real pixels per window.',
            f"{out} = self.{layer.id}(F.pad({ins[0]}, {pads})) / self.{layer.id}(F.pad(torch.ones_like({ins[0]}[:, :1]), {pads}))",
        ]
    else:
        statements = [f"{out} = self.{layer.id}(F.pad({ins[0]}, {pads}, value=-torch.inf))"]
    module = call("nn.AvgPool2d" if average else "nn.MaxPool2d", args, kwargs)
    return module, statements


@emits("MaxPooling1D")
def max_pool1d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    strides = p.strides or p.pool_size
    kwargs = {} if strides == p.pool_size else {"stride": literal(strides)}
    source = f"{ins[0]}.transpose(1, 2)"
    if p.padding == "same":
        before, after = same_padding(layer.input_shapes[0][0], p.pool_size, strides)
        if before == after and before:
            kwargs["padding"] = literal(before)
        elif before != after:
            source = f"F.pad({source}, {literal((before, after))}, value=-torch.inf)"
    module = call("nn.MaxPool1d", [literal(p.pool_size)], kwargs)
    return module, [f"{out} = self.{layer.id}({source}).transpose(1, 2)"]


@emits("GlobalAveragePooling1D")
def global_average_1d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    return None, [f"{out} = {ins[0]}.mean(dim=1)"]


@emits("GlobalAveragePooling2D")
def global_average_2d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    return None, [f"{out} = {ins[0]}.mean(dim=(2, 3))"]


@emits("GlobalMaxPooling1D")
def global_max_1d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    return None, [f"{out} = {ins[0]}.amax(dim=1)"]


@emits("GlobalMaxPooling2D")
def global_max_2d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    return None, [f"{out} = {ins[0]}.amax(dim=(2, 3))"]


@emits("SpatialDropout1D")
def spatial_dropout_1d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    # nn.Dropout1d drops whole channels of (N, C, L): the sequence is (N, L, C).
    module = call("nn.Dropout1d", [literal(layer.params.rate)])  # type: ignore[attr-defined]
    return module, [f"{out} = self.{layer.id}({ins[0]}.transpose(1, 2)).transpose(1, 2)"]


@emits("SpatialDropout2D")
def spatial_dropout_2d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    return call("nn.Dropout2d", [literal(layer.params.rate)]), [f"{out} = self.{layer.id}({ins[0]})"]  # type: ignore[attr-defined]


@emits("UpSampling2D")
def upsampling_2d(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    kwargs = {"scale_factor": size(pair(p.size)), "mode": literal(p.interpolation)}
    if p.interpolation == "bilinear":
        kwargs["align_corners"] = "False"  # half-pixel centres, as Keras's resize
    return call("nn.Upsample", [], kwargs), [f"{out} = self.{layer.id}({ins[0]})"]


@emits("Conv2DTranspose")
def conv2d_transpose(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    kernel, strides = pair(p.kernel_size), pair(p.strides)
    kwargs = {"kernel_size": size(kernel)}
    if strides != (1, 1):
        kwargs["stride"] = size(strides)
    expr = f"self.{layer.id}({ins[0]})"
    if p.padding == "same":
        # Keras crops kernel - strides rows (columns): half, rounded down, at the top (left), the
        # rest at the bottom (right). torch crops `padding` from both sides; an odd remainder is
        # cut from the end here.
        crop = (kernel[0] - strides[0], kernel[1] - strides[1])
        if crop[0] // 2 or crop[1] // 2:
            kwargs["padding"] = size((crop[0] // 2, crop[1] // 2))
        if crop[0] % 2 or crop[1] % 2:
            height, width = layer.output_shape[0], layer.output_shape[1]
            expr += f"[:, :, :{height}, :{width}]"
    if not p.use_bias:
        kwargs["bias"] = "False"
    module = call("nn.ConvTranspose2d", [literal(layer.input_shapes[0][-1]), literal(p.filters)], kwargs)
    return module, [f"{out} = {activation(expr, p.activation, 3)}"]


# -- augmentation (training only) -------------------------------------------------------


def training_only(out: str, source: str, lines: list[str]) -> list[str]:
    """Statements that change ``out`` only while the module trains; otherwise it is the input."""
    head = [] if out == source else [f"{out} = {source}"]
    return [*head, "if self.training:", *[f"    {line}" for line in lines]]


def per_image(x: str) -> str:
    """One uniform random number per image, shaped to broadcast over (N, C, H, W)."""
    return f"torch.rand({x}.shape[0], 1, 1, 1, device={x}.device)"


@emits("RandomFlip")
def random_flip(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    mode = layer.params.mode  # type: ignore[attr-defined]
    lines = []
    if mode in ("horizontal", "horizontal_and_vertical"):
        lines.append(f"{out} = torch.where({per_image(out)} < 0.5, {out}.flip(3), {out})")
    if mode in ("vertical", "horizontal_and_vertical"):
        lines.append(f"{out} = torch.where({per_image(out)} < 0.5, {out}.flip(2), {out})")
    return None, training_only(out, ins[0], lines)


@emits("RandomContrast")
def random_contrast(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    low, high = p.value_range
    lines = [
        f"mean = {out}.mean(dim=(2, 3), keepdim=True)",
        f"scale = 1.0 + (2.0 * {per_image(out)} - 1.0) * {literal(p.factor)}",
        f"{out} = ((({out} - mean) * scale) + mean).clamp({literal(low)}, {literal(high)})",
    ]
    return None, training_only(out, ins[0], lines)


def resample(out: str, matrix: list[str]) -> list[str]:
    """Resample each image through its own 2x3 affine matrix (reflection fills the edges)."""
    return [
        f"theta = torch.stack([{', '.join(matrix)}], dim=1).reshape(-1, 2, 3)",
        f"grid = F.affine_grid(theta, {out}.shape, align_corners=False)",
        f'{out} = F.grid_sample({out}, grid, mode="bilinear", padding_mode="reflection", align_corners=False)',
    ]


@emits("RandomRotation")
def random_rotation(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    largest = layer.params.factor * 2 * 3.141592653589793  # type: ignore[attr-defined]
    lines = [
        f"angle = (2.0 * torch.rand({out}.shape[0], device={out}.device) - 1.0) * {literal(round(largest, 12))}",
        "cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)",
        *resample(out, ["cos", "-sin", "zero", "sin", "cos", "zero"]),
    ]
    return None, training_only(out, ins[0], lines)


@emits("RandomZoom")
def random_zoom(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    factor = layer.params.height_factor  # type: ignore[attr-defined]
    lines = [
        f"zoom = 1.0 + (2.0 * torch.rand({out}.shape[0], device={out}.device) - 1.0) * {literal(factor)}",
        "zero = torch.zeros_like(zoom)",
        *resample(out, ["zoom", "zero", "zero", "zero", "zoom", "zero"]),
    ]
    return None, training_only(out, ins[0], lines)


# -- recurrent --------------------------------------------------------------------------


@emits("LSTM", "GRU")
def recurrent(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    features = layer.input_shapes[0][-1]
    module = call(f"nn.{layer.type}", [literal(features), literal(p.units)], {"batch_first": "True"})
    # Index 0 is the output at every step; [:, -1] keeps the last one (return_sequences=False).
    step = "" if p.return_sequences else "[:, -1]"
    return module, [f"{out} = self.{layer.id}({ins[0]})[0]{step}"]


@emits("Bidirectional")
def bidirectional(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    inner = p.layer
    units = inner.params.units
    features = layer.input_shapes[0][-1]
    module = call(
        f"nn.{inner.type}", [literal(features), literal(units)], {"batch_first": "True", "bidirectional": "True"}
    )
    statements = [f"{out} = self.{layer.id}({ins[0]})[0]"]
    if inner.params.return_sequences:
        forward, backward = f"{out}[..., :{units}]", f"{out}[..., {units}:]"
    else:
        # Keras returns each direction's final output: the forward one at the last step,
        # the backward one at step 0 (where it finishes reading the reversed sequence).
        forward, backward = f"{out}[:, -1, :{units}]", f"{out}[:, 0, {units}:]"
    merged = {
        "concat": f"torch.cat(({forward}, {backward}), dim=-1)",
        "sum": f"{forward} + {backward}",
        "mul": f"{forward} * {backward}",
        "ave": f"({forward} + {backward}) / 2",
    }[p.merge_mode]
    if not (inner.params.return_sequences and p.merge_mode == "concat"):
        statements.append(f"{out} = {merged}")
    return module, statements


# -- attention --------------------------------------------------------------------------


@emits("MultiHeadAttention")
def multi_head_attention(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    p: Any = layer.params
    kwargs = {"dropout": literal(p.dropout)} if p.dropout else {}
    kwargs["batch_first"] = "True"
    module = call("nn.MultiheadAttention", [literal(layer.input_shapes[0][-1]), literal(p.num_heads)], kwargs)
    # Self-attention: the input is query, key and value; [0] is the output (no attention weights).
    return module, [f"{out} = self.{layer.id}({ins[0]}, {ins[0]}, {ins[0]}, need_weights=False)[0]"]


# -- merge ------------------------------------------------------------------------------


@emits("Add")
def add(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    line = f"{out} = {' + '.join(ins)}"
    if FORWARD_INDENT + len(line) <= MAX_LINE:
        return None, [line]
    # Many inputs: one term per line, as a formatter would wrap it.
    return None, [f"{out} = (\n    {ins[0]}\n" + "".join(f"    + {i}\n" for i in ins[1:]) + ")"]


@emits("Concatenate")
def concatenate(layer: ResolvedLayer, ins: list[str], out: str) -> Emitted:
    rank = len(layer.output_shape)
    axis = layer.params.axis  # type: ignore[attr-defined]
    position = axis + rank + 1 if axis < 0 else axis  # Keras axis, batch = 0
    if rank == 3:
        position = {1: 2, 2: 3, 3: 1}[position]  # NHWC axis -> NCHW axis
    line = f"{out} = torch.cat(({', '.join(ins)}), dim={position})"
    if FORWARD_INDENT + len(line) <= MAX_LINE:
        return None, [line]
    items = "".join(f"        {i},\n" for i in ins)
    return None, [f"{out} = torch.cat(\n    (\n{items}    ),\n    dim={position},\n)"]


# -- module -----------------------------------------------------------------------------


def generate_torch(spec: Any) -> str:
    """Module source defining an ``nn.Module`` subclass, ``build_model()`` and ``INPUT_SHAPE``."""
    return torch_source(resolve(spec))


def torch_source(resolved: ResolvedSpec) -> str:
    cls = name(class_name(resolved.name))
    chain = resolved.is_chain
    init: list[str] = []
    forward: list[str] = []
    for layer in resolved.layers:
        ins = ["x" if chain or ref == "input" else name(ref) for ref in layer.inputs]
        out = "x" if chain else name(layer.id)
        module, statements = EMITTERS[layer.type](layer, ins, out)
        if module is not None:
            init.append(f"self.{name(layer.id)} = {module}")
        forward.extend(statements)
    result = "x" if chain else name(resolved.output.id)
    body = "\n".join(init + forward)
    imports = ["import torch"]
    if "F." in body:
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")

    permutation = input_permutation(resolved.input_shape)
    used = dict.fromkeys(layer.type for layer in resolved.layers)
    helpers = [HELPER_CLASSES[t] for t in used if t in HELPER_CLASSES]
    lines = [
        '"""torch.nn model generated by Layerloom from an architecture spec (format 1)."""',
        "",
        *imports,
        "",
    ]
    if permutation:
        lines += [
            "# One sample as the model reads it: channels-first (the spec's shape is "
            f"{literal(resolved.input_shape)}, channels-last).",
            f"INPUT_SHAPE = {literal(torch_shape(resolved.input_shape))}",
            "# Axes to permute a channels-last batch with, to get the layout forward() expects.",
            f"INPUT_PERMUTATION = {literal(permutation)}",
        ]
    else:
        lines += [
            "# One sample, without the batch axis.",
            f"INPUT_SHAPE = {literal(resolved.input_shape)}",
            "INPUT_PERMUTATION = None",
        ]
    lines += [
        f"INPUT_DTYPE = {literal(resolved.input_dtype)}",
        "",
        *helpers,
        "",
        f"class {cls}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *[f"        {line}" for line in init],
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *[f"        {line}" for line in forward],
        f"        return {result}",
        "",
        "",
        "def build_model() -> nn.Module:",
        f"    return {cls}()",
    ]
    return "\n".join(lines) + "\n"
