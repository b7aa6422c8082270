"""Attention layers: self-attention for Transformer encoder blocks."""

from __future__ import annotations

from pydantic import Field

from builder.spec.params import MAX_UNITS, Params
from builder.spec.registry import LayerType, register
from builder.spec.shapes import Shape, ShapeError, fmt

MAX_HEADS = 64


class MultiHeadAttentionParams(Params):
    num_heads: int = Field(ge=1, le=MAX_HEADS, description="Number of attention heads.")
    key_dim: int = Field(
        ge=1,
        le=MAX_UNITS,
        description="Size of each head's query and key (and value); num_heads x key_dim must equal the input's "
        "feature size.",
    )
    dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="Dropout on the attention weights during training, in [0, 1)."
    )


@register
class MultiHeadAttention(LayerType):
    name = "MultiHeadAttention"
    category = "attention"
    help = (
        "Self-attention over a sequence (query, key and value are the input): every step mixes in the steps "
        "it attends to, in num_heads heads, and a projection returns the input's feature size. The core of a "
        "Transformer encoder block; padding steps (token id 0) are attended to like any other step."
    )
    params_model = MultiHeadAttentionParams
    shape_rule = "(timesteps, features) -> (timesteps, features)"
    torch_note = (
        "torch.nn.MultiheadAttention(batch_first=True), which splits the feature size among the heads: hence "
        "num_heads x key_dim = features. Its in_proj_weight stacks Keras's query, key and value kernels."
    )

    def output_shape(self, params: MultiHeadAttentionParams, inputs: list[Shape]) -> Shape:
        shape = inputs[0]
        if len(shape) != 2:
            raise ShapeError(
                f"MultiHeadAttention needs a sequence (timesteps, features) but gets {fmt(shape)}; "
                "put it after an Embedding, a PositionalEmbedding or another sequence layer.",
            )
        features = shape[-1]
        if params.num_heads * params.key_dim != features:
            divisors = [h for h in range(1, min(features, 16) + 1) if features % h == 0]
            if features % params.num_heads == 0:
                fix = f"set key_dim to {features // params.num_heads} ({features} / num_heads {params.num_heads})"
            else:
                fix = f"choose num_heads among {', '.join(map(str, divisors))} and key_dim = {features} / num_heads"
            raise ShapeError(
                f"num_heads x key_dim is {params.num_heads} x {params.key_dim} = {params.num_heads * params.key_dim}, "
                f"but the input has {features} features; the heads split the features between them, so {fix}.",
                param="key_dim",
            )
        return shape

    def param_counts(self, params: MultiHeadAttentionParams, inputs: list[Shape]) -> tuple[int, int]:
        features = inputs[0][-1]
        inner = params.num_heads * params.key_dim
        # Query, key and value projections (kernel and bias each), then the output projection.
        return (3 * (features * inner + inner) + inner * features + features, 0)
