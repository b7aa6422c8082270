"""Keras source for a validated spec: Sequential for a chain, the functional API for a DAG."""

from __future__ import annotations

from typing import Any

from builder.codegen.source import MAX_LINE, call, literal, name
from builder.spec.naming import model_name
from builder.spec.params import Params
from builder.spec.report import ResolvedLayer, ResolvedSpec
from builder.spec.validate import resolve

# Parameters written positionally, in Keras's own order; the rest are keywords when they
# differ from the default, so the code reads like the Keras documentation's examples.
POSITIONAL: dict[str, tuple[str, ...]] = {
    "Dense": ("units",),
    "Dropout": ("rate",),
    "Activation": ("activation",),
    "Reshape": ("target_shape",),
    "Embedding": ("input_dim", "output_dim"),
    "Conv1D": ("filters", "kernel_size"),
    "Conv2D": ("filters", "kernel_size"),
    "Conv2DTranspose": ("filters", "kernel_size"),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate",),
    "RandomFlip": ("mode",),
    "RandomRotation": ("factor",),
    "RandomZoom": ("height_factor",),
    "RandomContrast": ("factor",),
    "LSTM": ("units",),
    "GRU": ("units",),
    "PositionalEmbedding": ("input_dim", "output_dim"),
    "MultiHeadAttention": ("num_heads", "key_dim"),
}
ALWAYS_KEYWORD: dict[str, tuple[str, ...]] = {
    "MaxPooling1D": ("pool_size",),
    "MaxPooling2D": ("pool_size",),
    "AveragePooling2D": ("pool_size",),
    "RandomContrast": ("value_range",),  # Keras's default is (0, 255); Layerloom's images are in [0, 1]
}


# Self-attention reads its input as query and value: ``layer(x, x)``, so a model that has it
# uses the functional API even when its layers form a chain.
SELF_ATTENTION = frozenset({"MultiHeadAttention"})

# Layers Keras has no built-in class for: the module defines a small one (written once).
POSITIONAL_EMBEDDING_CLASS = '''
@keras.saving.register_keras_serializable(package="layerloom")
class PositionalEmbedding(layers.Layer):
    """Token embeddings plus a learned embedding of each position, added together."""

    def __init__(self, input_dim: int, output_dim: int, sequence_length: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.sequence_length = sequence_length
        self.tokens = layers.Embedding(input_dim, output_dim)
        self.positions = layers.Embedding(sequence_length, output_dim)

    def build(self, input_shape) -> None:
        self.tokens.build(input_shape)
        self.positions.build((self.sequence_length,))

    def call(self, inputs):
        return self.tokens(inputs) + self.positions(keras.ops.arange(self.sequence_length))

    def get_config(self) -> dict:
        sizes = {"input_dim": self.input_dim, "output_dim": self.output_dim, "sequence_length": self.sequence_length}
        return super().get_config() | sizes
'''
HELPER_CLASSES = {"PositionalEmbedding": POSITIONAL_EMBEDDING_CLASS}


def layer_arguments(layer_type: str, params: Params) -> tuple[list[str], dict[str, str]]:
    positional = POSITIONAL.get(layer_type, ())
    always = ALWAYS_KEYWORD.get(layer_type, ())
    args = [literal(getattr(params, p)) for p in positional]
    kwargs: dict[str, str] = {}
    for field_name, field in type(params).model_fields.items():
        if field_name in positional:
            continue
        value: Any = getattr(params, field_name)
        if field_name in always or value != field.default:
            kwargs[field_name] = literal(value)
    return args, kwargs


def layer_expression(layer: ResolvedLayer, indent: int) -> str:
    """``layers.Conv2D(32, 3, activation="relu", name="conv1")``."""
    if layer.type == "Bidirectional":
        inner = layer.params.layer  # type: ignore[attr-defined]
        inner_args, inner_kwargs = layer_arguments(inner.type, inner.params)
        args = [call(f"layers.{inner.type}", inner_args, inner_kwargs)]
        kwargs = {}
        if layer.params.merge_mode != "concat":  # type: ignore[attr-defined]
            kwargs["merge_mode"] = literal(layer.params.merge_mode)  # type: ignore[attr-defined]
    else:
        args, kwargs = layer_arguments(layer.type, layer.params)
    if layer.type == "PositionalEmbedding":
        kwargs["sequence_length"] = literal(layer.input_shapes[0][0])
    kwargs["name"] = literal(name(layer.id))
    module = "" if layer.type in HELPER_CLASSES else "layers."
    return call(f"{module}{name(layer.type)}", args, kwargs, indent)


def helper_classes(resolved: ResolvedSpec) -> list[str]:
    """The source of each helper class the spec's layers need, in order of first use."""
    used = dict.fromkeys(layer.type for layer in resolved.layers)
    return [HELPER_CLASSES[t] for t in used if t in HELPER_CLASSES]


def generate_keras(spec: Any) -> str:
    """Module source defining ``build_model() -> keras.Model`` and ``INPUT_SHAPE``."""
    return keras_source(resolve(spec))


def keras_source(resolved: ResolvedSpec) -> str:
    lines = [
        '"""Keras model generated by Layerloom from an architecture spec (format 1)."""',
        "",
        "import keras",
        "from keras import layers",
        "",
        "# One sample, channels-last, without the batch axis.",
        f"INPUT_SHAPE = {literal(resolved.input_shape)}",
        f"INPUT_DTYPE = {literal(resolved.input_dtype)}",
        "",
        *helper_classes(resolved),
        "",
        "def build_model() -> keras.Model:",
        '    """Build the uncompiled model; training code compiles and fits it."""',
    ]
    model = literal(model_name(resolved.name))
    if resolved.is_chain and not any(layer.type in SELF_ATTENTION for layer in resolved.layers):
        lines.append("    return keras.Sequential(")
        lines.append("        [")
        lines.append("            keras.Input(shape=INPUT_SHAPE, dtype=INPUT_DTYPE),")
        for layer in resolved.layers:
            lines.append(f"            {layer_expression(layer, 12)},")
        lines.append("        ],")
        lines.append(f"        name={model},")
        lines.append("    )")
    else:
        lines.append("    inputs = keras.Input(shape=INPUT_SHAPE, dtype=INPUT_DTYPE)")
        for layer in resolved.layers:
            sources = ["inputs" if ref == "input" else name(ref) for ref in layer.inputs]
            argument = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
            if layer.type in SELF_ATTENTION:
                argument = f"{argument}, {argument}"  # query and value
            line = f"    {name(layer.id)} = {layer_expression(layer, 4)}({argument})"
            if len(line) <= MAX_LINE or len(sources) == 1:
                lines.append(line)
            else:
                # Many inputs: one per line, as a formatter would wrap the list.
                lines.append(f"    {name(layer.id)} = {layer_expression(layer, 4)}(")
                lines.append("        [")
                lines.extend(f"            {source}," for source in sources)
                lines.append("        ]")
                lines.append("    )")
        lines.append(f"    return keras.Model(inputs=inputs, outputs={name(resolved.output.id)}, name={model})")
    return "\n".join(lines) + "\n"
